import { RpcError, RpcErrorCodes } from "./errors.js";
import type { BrokerSender } from "./host-calls.js";

/**
 * A channel method failed in a way the host should know: its `code` is one of
 * the contract's -33001..-33005, and the host turns it into a typed error.
 * Throw one of the subclasses from a channel handler.
 */
export class ChannelError extends RpcError {
  constructor(code: number, message: string, data?: unknown) {
    super(code, message, data);
    this.name = "ChannelError";
  }
}

/** -33001: the service behind the channel cannot be reached. */
export class ChannelConnectionError extends ChannelError {
  constructor(message: string) {
    super(RpcErrorCodes.CHANNEL_CONNECTION, message);
    this.name = "ChannelConnectionError";
  }
}

/** -33002: the service refused the channel's credentials. */
export class ChannelAuthenticationError extends ChannelError {
  constructor(message: string) {
    super(RpcErrorCodes.CHANNEL_AUTHENTICATION, message);
    this.name = "ChannelAuthenticationError";
  }
}

/** -33003: the recipient does not exist or cannot be written to; `data: {recipient, reason}`. */
export class ChannelRecipientInvalidError extends ChannelError {
  readonly recipient: string;
  constructor(recipient: string, reason: string) {
    super(RpcErrorCodes.CHANNEL_RECIPIENT_INVALID, `recipient ${recipient} is invalid: ${reason}`, { recipient, reason });
    this.name = "ChannelRecipientInvalidError";
    this.recipient = recipient;
  }
}

/** -33004: the service is rate limiting; `data: {retry_after_secs}` tells the host when to try again. */
export class ChannelRateLimitedError extends ChannelError {
  readonly retryAfterSecs: number;
  constructor(retryAfterSecs: number, message = "rate limited") {
    super(RpcErrorCodes.CHANNEL_RATE_LIMITED, message, { retry_after_secs: retryAfterSecs });
    this.name = "ChannelRateLimitedError";
    this.retryAfterSecs = retryAfterSecs;
  }
}

/** -33005: the channel cannot send this (a media message on a text-only channel...); `data: {feature}`. */
export class ChannelUnsupportedError extends ChannelError {
  readonly feature: string;
  constructor(feature: string) {
    super(RpcErrorCodes.CHANNEL_UNSUPPORTED, `unsupported: ${feature}`, { feature });
    this.name = "ChannelUnsupportedError";
    this.feature = feature;
  }
}

/** `msg` of `channel.send_outbound`: `kind` is `text` (`to`, `body`), `media` (`to`, `url`, ...) or `custom`. */
export interface OutboundMessage {
  kind: "text" | "media" | "custom";
  to?: string | number | null;
  body?: string;
  [field: string]: unknown;
}

/** What a send answers: the service's id for the message and when it was sent (Unix seconds). */
export interface OutboundAck {
  message_id: string | number;
  sent_at_unix: number;
}

/** What every channel handler gets besides its parameters. */
export interface ChannelContext {
  broker: BrokerSender;
  pluginId: string;
  /** Aborted when the plugin shuts down. */
  signal: AbortSignal;
}

/**
 * Handlers of a channel plugin (`[plugin.extends] channels`), one object for
 * every kind it serves (`kind` says which). Without `sendOutbound` the plugin
 * answers -32601 to `channel.send_outbound`; `start` and `stop` default to `{ok: true}`.
 */
export interface ChannelHandlers {
  /** `channel.start {kind, instance}`: connect, begin publishing inbound events. */
  start?: (kind: string, instance: string | null, ctx: ChannelContext) => void | Promise<void>;
  /** `channel.stop {kind}`: release what `start` took. Idempotent. */
  stop?: (kind: string, ctx: ChannelContext) => void | Promise<void>;
  /** `channel.send_outbound {kind, msg, instance}`: send one message; throw a ChannelError subclass for the contract's codes. */
  sendOutbound?: (kind: string, msg: OutboundMessage, ctx: ChannelContext & { instance: string | null }) => OutboundAck | Promise<OutboundAck>;
}

/** A hook's answer (`{}` or nothing allows); see the host's docs/channels-and-hooks.md. */
export interface HookResponse {
  abort?: boolean;
  reason?: string;
  override?: Record<string, unknown>;
  decision?: "allow" | "block" | "transform";
  transformed_body?: string;
  do_not_reply_again?: boolean;
}

/** `hook.on_hook {plugin_id, hook_name, event}`, as a hook handler gets it. */
export interface HookInvocation {
  pluginId: string;
  hookName: string;
  event: Record<string, unknown>;
}

/** Answers `hook.on_hook` for the hook names in `[plugin.extends] hooks`. A throw is an error reply, which the host treats as allow. */
export type HookHandler = (invocation: HookInvocation, ctx: ChannelContext) => HookResponse | void | undefined | Promise<HookResponse | void | undefined>;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** An error reply: a ChannelError (or a plain RpcError) keeps its code and data; any other throw is -32603 with its message. */
export function extensionError(err: unknown): { code: number; message: string; data?: unknown } {
  // A plain RpcError (the SDK's own checks, or the handler's chosen code) keeps its code; a host call's error does not become the plugin's.
  if (err instanceof ChannelError || (err instanceof RpcError && err.constructor === RpcError)) return err.toJSON();
  return { code: RpcErrorCodes.INTERNAL_ERROR, message: err instanceof Error ? err.message : String(err) };
}

/**
 * Run a channel or hook request: the result to reply with, or an RpcError
 * (-32601 without a handler, -32602 for bad params) to reply with. Undefined
 * when `method` is not a channel or hook method.
 */
export function extensionCall(
  method: string,
  params: unknown,
  handlers: { channels?: ChannelHandlers | undefined; onHook?: HookHandler | undefined },
  ctx: ChannelContext,
): (() => Promise<unknown>) | undefined {
  const ch = handlers.channels;
  const p = isObj(params) ? params : undefined;
  const kindOf = (): string => {
    if (!p || typeof p.kind !== "string" || p.kind === "") throw new RpcError(RpcErrorCodes.INVALID_PARAMS, `${method} params need a string kind`);
    return p.kind;
  };
  const instanceOf = (): string | null => (p && typeof p.instance === "string" ? p.instance : null);
  switch (method) {
    case "channel.start":
      return async () => {
        if (!ch) throw new RpcError(RpcErrorCodes.METHOD_NOT_FOUND, "method not found: channel.start");
        await ch.start?.(kindOf(), instanceOf(), ctx);
        return { ok: true };
      };
    case "channel.stop":
      return async () => {
        if (!ch) throw new RpcError(RpcErrorCodes.METHOD_NOT_FOUND, "method not found: channel.stop");
        await ch.stop?.(kindOf(), ctx);
        return { ok: true };
      };
    case "channel.send_outbound":
      return async () => {
        if (!ch?.sendOutbound) throw new RpcError(RpcErrorCodes.METHOD_NOT_FOUND, "method not found: channel.send_outbound");
        const kind = kindOf();
        if (!p || !isObj(p.msg) || typeof p.msg.kind !== "string") throw new RpcError(RpcErrorCodes.INVALID_PARAMS, "channel.send_outbound params need msg: {kind, ...}");
        const ack = await ch.sendOutbound(kind, p.msg as OutboundMessage, { ...ctx, instance: instanceOf() });
        if (!isObj(ack) || (typeof ack.message_id !== "string" && typeof ack.message_id !== "number")) {
          throw new RpcError(RpcErrorCodes.INTERNAL_ERROR, "sendOutbound must return {message_id, sent_at_unix}");
        }
        return { message_id: ack.message_id, sent_at_unix: typeof ack.sent_at_unix === "number" ? ack.sent_at_unix : Math.floor(Date.now() / 1000) };
      };
    case "hook.on_hook":
      return async () => {
        if (!handlers.onHook) throw new RpcError(RpcErrorCodes.METHOD_NOT_FOUND, "method not found: hook.on_hook");
        if (!p || typeof p.hook_name !== "string") throw new RpcError(RpcErrorCodes.INVALID_PARAMS, "hook.on_hook params need a string hook_name");
        const out = await handlers.onHook(
          { pluginId: typeof p.plugin_id === "string" ? p.plugin_id : ctx.pluginId, hookName: p.hook_name, event: isObj(p.event) ? p.event : {} },
          ctx,
        );
        return out ?? {};
      };
    default:
      return undefined;
  }
}

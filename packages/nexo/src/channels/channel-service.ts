import type { ServiceHealth } from "../app/index.js";
import type { Broker, Subscription } from "../broker/index.js";
import { Methods, newEvent, RpcError, RpcErrorCodes, type Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { HookName, HookPoints } from "../app/index.js";
import { LogThrottle } from "../host/index.js";
import type { PluginSupervisor } from "../host/index.js";
import { envMs } from "../host/index.js";
import type { Logger } from "../log/index.js";
import { toChannelError } from "./channel-errors.js";
import { checkOutboundMessage, messageFromPayload, type OutboundMessage } from "./outbound-message.js";

/** The hook this service fires; a literal checked against the app's hook names, so channels need no value from the app that builds them. */
const BEFORE_OUTBOUND: HookName = "before_outbound";

/** Deadlines of the channel methods, in ms. */
export interface ChannelTimeouts {
  /** `channel.start`. Default NEXO_PLUGIN_CHANNEL_TIMEOUT_MS or 30,000. */
  startMs: number;
  /** `channel.stop`, also the stop step of a plugin's shutdown. Default NEXO_PLUGIN_CHANNEL_TIMEOUT_MS or 30,000. */
  stopMs: number;
  /** `channel.send_outbound`. Default NEXO_PLUGIN_CHANNEL_TIMEOUT_MS or 60,000. */
  sendMs: number;
}

/** The contract's deadlines, one env variable overriding all three. */
export function defaultChannelTimeouts(): ChannelTimeouts {
  return {
    startMs: envMs("NEXO_PLUGIN_CHANNEL_TIMEOUT_MS", 30_000),
    stopMs: envMs("NEXO_PLUGIN_CHANNEL_TIMEOUT_MS", 30_000),
    sendMs: envMs("NEXO_PLUGIN_CHANNEL_TIMEOUT_MS", 60_000),
  };
}

/** What `app.channels.send` resolves with. */
export interface ChannelSendResult {
  kind: string;
  instance: string | null;
  /** `send_outbound`: the serving plugin confirmed it; `event`: published on `plugin.outbound.<kind>[.<instance>]` for an event-based channel plugin (at most once). */
  via: "send_outbound" | "event";
  /** The plugin's message id (`send_outbound`), or the published event's id. */
  message_id: string;
  sent_at_unix: number;
}

/** Options of one send. */
export interface ChannelSendOptions {
  /** The conversation: `before_outbound` hooks see it, and a session a hook silenced (`do_not_reply_again`) gets nothing. */
  sessionId?: string | null;
  /** Deadline of `channel.send_outbound`. Default the channel timeout. */
  timeoutMs?: number;
}

/** One channel as `app.channels.list()` shows it. */
export interface ChannelInfo {
  kind: string;
  instance: string | null;
  plugin: string;
  /** `send_outbound`: served through the channel methods (`[plugin.extends] channels`); `event`: `broker.event` only. */
  via: "send_outbound" | "event";
  /** For served channels: where `channel.start` left it. */
  state?: "starting" | "started" | "start_failed" | "stopped";
}

/** Counters of the channel service. */
export interface ChannelStats {
  sent: number;
  failed: number;
  blocked: number;
  /** Outbound events of served channels (each becomes one `channel.send_outbound`). */
  events: number;
}

export interface ChannelServiceOptions {
  broker: Broker;
  logger: Logger;
  hooks: HookPoints;
  /** Every subprocess plugin now (event-based channels are looked up here). */
  listPlugins: () => PluginSupervisor[];
  timeouts?: Partial<ChannelTimeouts>;
}

/** A kind served through the channel methods: its owner, its processes by instance label, its outbound subscriptions. */
interface ServedKind {
  kind: string;
  pluginId: string;
  byInstance: Map<string | null, PluginSupervisor>;
  subs: Subscription[];
}

/** One topic segment. */
const SEGMENT = /^[^.*>\s]+$/;
/** Outbound events of served channels being sent at once; more wait in the bounded subscription. */
const MAX_IN_FLIGHT = 64;
/** Source of the delivery-status events the service publishes for outbound events. */
export const CHANNEL_SOURCE_PREFIX = "channel.";

/**
 * Channels served by subprocess plugins. A plugin listing kinds in
 * `[plugin.extends] channels` gets `channel.start {kind, instance}` each time
 * it becomes ready (after a respawn too), `channel.stop {kind}` before it is
 * stopped, and `channel.send_outbound {kind, msg, instance}` for every message:
 * those sent with `send`, and every event on `plugin.outbound.<kind>[.<instance>...]`
 * (the plugin gets no `broker.event` for them, so nothing is delivered twice).
 * Each outbound event's outcome is published on `plugin.delivery.<kind>[.<instance>]`.
 */
export class ChannelService {
  readonly timeouts: ChannelTimeouts;
  private readonly log: Logger;
  private readonly served = new Map<string, ServedKind>();
  private readonly states = new Map<string, NonNullable<ChannelInfo["state"]>>();
  private readonly counters: ChannelStats = { sent: 0, failed: 0, blocked: 0, events: 0 };
  private readonly throttle = new LogThrottle({ burst: 10, refillMs: 10_000 });
  private inFlight = 0;
  private readonly slotWaiters: Array<() => void> = [];

  constructor(private readonly options: ChannelServiceOptions) {
    this.log = options.logger.child({ area: "channels" });
    this.timeouts = { ...defaultChannelTimeouts(), ...(options.timeouts ?? {}) };
  }

  /**
   * Serve the `[plugin.extends] channels` of one subprocess plugin (a no-op
   * without any). Returns the function that undoes it: the plugin's outbound
   * events then go nowhere through this service; it sends nothing itself
   * (the plugin's stop already sent `channel.stop`).
   */
  attach(sup: PluginSupervisor): () => void {
    const kinds = sup.spec.manifest.extends.channels;
    if (kinds.length === 0) return () => undefined;
    const instance = sup.spec.instance ?? null;
    const pluginId = sup.spec.manifest.id;
    for (const kind of kinds) {
      const owner = this.served.get(kind);
      if (owner && owner.pluginId !== pluginId) {
        throw new NexoError(
          ErrorCodes.HOST_CHANNEL_KIND_TAKEN,
          `plugin ${sup.key} serves channel kind "${kind}", which plugin ${owner.pluginId} already serves; a channel kind has one owner`,
          {
            pluginId: sup.key,
            data: { kind, owner: owner.pluginId },
          },
        );
      }
    }
    for (const kind of kinds) {
      let entry = this.served.get(kind);
      if (!entry) {
        entry = { kind, pluginId, byInstance: new Map(), subs: [] };
        for (const pattern of [`plugin.outbound.${kind}`, `plugin.outbound.${kind}.>`]) {
          entry.subs.push(this.options.broker.subscribe(pattern, (event) => this.onOutboundEvent(kind, event), { name: `channel:${kind}`, bufferSize: 1024 }));
        }
        this.served.set(kind, entry);
      }
      entry.byInstance.set(instance, sup);
    }
    const offStatus = sup.onStatus((status) => {
      if (status.state === "ready") void this.startChannels(sup);
    });
    const offStop = sup.onBeforeStop(() => this.stopChannels(sup));
    if (sup.currentState === "ready") void this.startChannels(sup);
    return () => {
      offStatus();
      offStop();
      for (const kind of kinds) {
        this.states.delete(stateKey(sup, kind));
        const entry = this.served.get(kind);
        if (!entry || entry.byInstance.get(instance) !== sup) continue;
        entry.byInstance.delete(instance);
        if (entry.byInstance.size === 0) {
          for (const s of entry.subs) s.unsubscribe();
          this.served.delete(kind);
        }
      }
    };
  }

  /**
   * Send `msg` on channel `kind` (instance `instance`, or null for the
   * unlabelled one). A served channel answers with the plugin's message id;
   * an event-based one gets the message published on its outbound topic.
   * `before_outbound` hooks run first and may block (NEXO_ERR_HOOK_BLOCKED) or
   * rewrite it. Errors: NEXO_ERR_CHANNEL_NOT_FOUND, _INVALID_MESSAGE,
   * _CONNECTION, _AUTHENTICATION, _RECIPIENT_INVALID, _RATE_LIMITED
   * (`details.data.retry_after_secs`), _UNSUPPORTED, _UNAVAILABLE, _TIMEOUT, _SEND_FAILED.
   * @example await app.channels.send("telegram", "sales", { kind: "text", to: "42", body: "hi" });
   */
  async send(kind: string, instance: string | null, msg: unknown, options: ChannelSendOptions = {}): Promise<ChannelSendResult> {
    if (typeof kind !== "string" || kind === "") throw new NexoError(ErrorCodes.CHANNEL_NOT_FOUND, `channel kind must be a non-empty string, got ${JSON.stringify(kind)}`);
    // Both become topic segments: a dot or wildcard would address other topics.
    if (!SEGMENT.test(kind) || (instance !== null && (typeof instance !== "string" || !SEGMENT.test(instance)))) {
      throw new NexoError(
        ErrorCodes.CHANNEL_NOT_FOUND,
        `channel kind and instance must each be one topic segment (no ".", "*", ">" or spaces), got ${JSON.stringify(kind)} / ${JSON.stringify(instance)}`,
      );
    }
    let message = checkOutboundMessage(msg, `channel ${kind}`);
    const sessionId = options.sessionId ?? null;
    const entry = this.served.get(kind);
    const sup = entry ? this.pick(entry, instance) : undefined;
    if (!entry && !this.eventOwner(kind)) throw this.notFound(kind, instance);
    if (entry && !sup) throw this.notFound(kind, instance);
    message = await this.runOutboundHooks(kind, instance, message, sessionId);
    if (!sup) return this.publishOutbound(kind, instance, message, sessionId);
    return this.callSend(sup, kind, instance, message, options.timeoutMs ?? this.timeouts.sendMs);
  }

  /** Every channel known now: served ones (with their state) and event-based ones. */
  list(): ChannelInfo[] {
    const out: ChannelInfo[] = [];
    for (const entry of this.served.values()) {
      for (const [instance, sup] of entry.byInstance)
        out.push({ kind: entry.kind, instance, plugin: sup.key, via: "send_outbound", state: this.states.get(stateKey(sup, entry.kind)) ?? "stopped" });
    }
    for (const sup of this.options.listPlugins()) {
      for (const { kind } of sup.spec.manifest.channels) {
        if (!this.served.has(kind)) out.push({ kind, instance: sup.spec.instance ?? null, plugin: sup.key, via: "event" });
      }
    }
    return out;
  }

  /** For `/health`: every channel and the counters; degraded while a served channel failed to start. */
  health(): ServiceHealth {
    const channels = this.list();
    const failed = channels.filter((c) => c.state === "start_failed").map((c) => (c.instance === null ? c.kind : `${c.kind}.${c.instance}`));
    return {
      status: failed.length > 0 ? "degraded" : "ok",
      ...(failed.length > 0 ? { message: `channel.start failed for ${failed.join(", ")}` } : {}),
      details: { channels, ...this.stats() },
    };
  }

  /** Counters since the app started. */
  stats(): ChannelStats {
    return { ...this.counters };
  }

  /** Kinds served through the channel methods (their outbound topics are not forwarded as `broker.event`). */
  isServed(kind: string): boolean {
    return this.served.has(kind);
  }

  private pick(entry: ServedKind, instance: string | null): PluginSupervisor | undefined {
    // An unlabelled process serves every instance of its kind; `instance` then travels in the params.
    return entry.byInstance.get(instance) ?? entry.byInstance.get(null);
  }

  private eventOwner(kind: string): PluginSupervisor | undefined {
    return this.options.listPlugins().find((s) => s.spec.manifest.channels.some((c) => c.kind === kind));
  }

  private notFound(kind: string, instance: string | null): NexoError {
    const known = this.list().map((c) => (c.instance === null ? c.kind : `${c.kind}.${c.instance}`));
    return new NexoError(
      ErrorCodes.CHANNEL_NOT_FOUND,
      `no channel ${instance === null ? kind : `${kind}.${instance}`} (known: ${known.join(", ") || "none"}); a plugin serves a kind with [plugin.extends] channels or [[plugin.channels.register]]`,
      {
        data: { kind, instance },
      },
    );
  }

  private async runOutboundHooks(kind: string, instance: string | null, msg: OutboundMessage, sessionId: string | null): Promise<OutboundMessage> {
    const hooks = this.options.hooks;
    if (hooks.isSilenced(sessionId)) {
      this.counters.blocked += 1;
      throw new NexoError(ErrorCodes.HOOK_BLOCKED, `channel ${kind}: session ${sessionId} gets no further replies (a hook answered do_not_reply_again)`, {
        data: { hook: BEFORE_OUTBOUND, reason: "do_not_reply_again", session_id: sessionId },
      });
    }
    if (!hooks.has(BEFORE_OUTBOUND)) return msg;
    const outcome = await hooks.fire(BEFORE_OUTBOUND, { kind, instance, session_id: sessionId, to: msg.to ?? null, body: msg.body ?? null, msg });
    if (outcome.blocked) {
      this.counters.blocked += 1;
      throw new NexoError(ErrorCodes.HOOK_BLOCKED, `channel ${kind}: message blocked by ${outcome.by}: ${outcome.reason}`, {
        data: { hook: BEFORE_OUTBOUND, by: outcome.by, reason: outcome.reason },
      });
    }
    if (!outcome.changed) return msg;
    const e = outcome.event;
    let next = e.msg !== msg ? checkOutboundMessage(e.msg, `channel ${kind} (as a before_outbound hook rewrote it)`) : msg;
    if (e.body !== (msg.body ?? null) && typeof e.body === "string") next = { ...next, body: e.body };
    if (e.to !== (msg.to ?? null) && (typeof e.to === "string" || typeof e.to === "number")) next = { ...next, to: e.to };
    return next;
  }

  private async callSend(sup: PluginSupervisor, kind: string, instance: string | null, msg: OutboundMessage, timeoutMs: number): Promise<ChannelSendResult> {
    const method = Methods.CHANNEL_SEND_OUTBOUND;
    let result: unknown;
    try {
      result = await sup.call(method, { kind, msg, instance }, timeoutMs);
    } catch (err) {
      this.counters.failed += 1;
      throw toChannelError(err, { kind, instance, pluginKey: sup.key, method, ...(sup.retryAfterMs !== undefined ? { retryAfterMs: sup.retryAfterMs } : {}) });
    }
    const r = typeof result === "object" && result !== null ? (result as Record<string, unknown>) : {};
    const id = r.message_id;
    if (typeof id !== "string" && typeof id !== "number") {
      this.counters.failed += 1;
      throw toChannelError(new Error(`the plugin's reply has no message_id (expected {message_id, sent_at_unix}, got ${JSON.stringify(result)?.slice(0, 200)})`), {
        kind,
        instance,
        pluginKey: sup.key,
        method,
      });
    }
    this.counters.sent += 1;
    const at = Number(r.sent_at_unix);
    return { kind, instance, via: "send_outbound", message_id: String(id), sent_at_unix: Number.isFinite(at) ? at : Math.floor(Date.now() / 1000) };
  }

  private async publishOutbound(kind: string, instance: string | null, msg: OutboundMessage, sessionId: string | null): Promise<ChannelSendResult> {
    const topic = instance === null ? `plugin.outbound.${kind}` : `plugin.outbound.${kind}.${instance}`;
    const event = newEvent(topic, "app.channels", msg, { sessionId });
    await this.options.broker.publish(topic, event);
    this.counters.sent += 1;
    return { kind, instance, via: "event", message_id: event.id, sent_at_unix: Math.floor(Date.now() / 1000) };
  }

  /** Subscription handler of a served kind: its promise (only when every slot is busy) holds further events in the bounded subscription. */
  private onOutboundEvent(kind: string, event: Event): void | Promise<void> {
    this.counters.events += 1;
    if (this.inFlight < MAX_IN_FLIGHT) {
      void this.deliverEvent(kind, event);
      return;
    }
    return new Promise<void>((resolve) => this.slotWaiters.push(resolve)).then(() => void this.deliverEvent(kind, event));
  }

  private async deliverEvent(kind: string, event: Event): Promise<void> {
    this.inFlight += 1;
    const segments = event.topic.split(".");
    const instance = segments[3] ?? null;
    let status: Record<string, unknown>;
    try {
      const r = await this.send(kind, instance, messageFromPayload(event.payload), { sessionId: event.session_id });
      status = { status: "sent", message_id: r.message_id, sent_at_unix: r.sent_at_unix };
    } catch (err) {
      const e = err instanceof NexoError ? err : toChannelError(err, { kind, instance, pluginKey: "?", method: Methods.CHANNEL_SEND_OUTBOUND });
      const blocked = e.code === ErrorCodes.HOOK_BLOCKED;
      const data = (e.details.data ?? {}) as Record<string, unknown>;
      status = blocked
        ? { status: "blocked", reason: data.reason ?? e.message }
        : {
            status: "failed",
            error: {
              code: e.code,
              message: e.message,
              ...(e.details.rpcCode !== undefined ? { rpc_code: e.details.rpcCode } : {}),
              ...(data.retry_after_secs !== undefined ? { retry_after_secs: data.retry_after_secs } : {}),
            },
          };
      const line = this.throttle.take(`${kind}:${e.code}`);
      if (line && !blocked)
        this.log.warn(
          { kind, instance, eventId: event.id, code: e.code, count: line.count, suppressed: line.suppressed },
          `outbound event on ${event.topic} not delivered: ${e.message}`,
        );
    } finally {
      this.inFlight -= 1;
      this.slotWaiters.shift()?.();
    }
    const topic = instance === null ? `plugin.delivery.${kind}` : `plugin.delivery.${kind}.${instance}`;
    const out = newEvent(
      topic,
      `${CHANNEL_SOURCE_PREFIX}${kind}`,
      { ...status, kind, instance },
      { sessionId: event.session_id, correlationId: event.correlation_id ?? event.id, metadata: { in_reply_to: event.id } },
    );
    await this.options.broker.publish(topic, out).catch((err: unknown) => this.log.debug({ topic, err }, "delivery status not published"));
  }

  private async startChannels(sup: PluginSupervisor): Promise<void> {
    const instance = sup.spec.instance ?? null;
    await Promise.all(
      sup.spec.manifest.extends.channels.map(async (kind) => {
        const key = stateKey(sup, kind);
        this.states.set(key, "starting");
        try {
          await sup.call(Methods.CHANNEL_START, { kind, instance }, this.timeouts.startMs);
          this.states.set(key, "started");
          this.log.info({ plugin: sup.key, kind, instance }, `channel ${kind}${instance ? `.${instance}` : ""} started`);
        } catch (err) {
          // A plugin without channel.start still gets send_outbound: the method is the contract's, its lifecycle optional.
          if (err instanceof RpcError && err.code === RpcErrorCodes.METHOD_NOT_FOUND) {
            this.states.set(key, "started");
            return void this.log.info({ plugin: sup.key, kind }, "plugin does not implement channel.start; its channel is used as is");
          }
          this.states.set(key, "start_failed");
          const e = toChannelError(err, { kind, instance, pluginKey: sup.key, method: Methods.CHANNEL_START });
          this.log.error({ plugin: sup.key, kind, instance, code: e.code, err: e.message }, `channel ${kind} failed to start`);
        }
      }),
    );
  }

  private async stopChannels(sup: PluginSupervisor): Promise<void> {
    await Promise.all(
      sup.spec.manifest.extends.channels.map(async (kind) => {
        const key = stateKey(sup, kind);
        if (this.states.get(key) === undefined || this.states.get(key) === "stopped") return;
        try {
          await sup.call(Methods.CHANNEL_STOP, { kind }, this.timeouts.stopMs);
        } catch (err) {
          if (!(err instanceof RpcError && err.code === RpcErrorCodes.METHOD_NOT_FOUND)) {
            const e = toChannelError(err, { kind, instance: sup.spec.instance ?? null, pluginKey: sup.key, method: Methods.CHANNEL_STOP });
            this.log.warn({ plugin: sup.key, kind, code: e.code, err: e.message }, `channel ${kind} did not stop cleanly; the plugin is stopped anyway`);
          }
        }
        this.states.set(key, "stopped");
      }),
    );
  }
}

function stateKey(sup: PluginSupervisor, kind: string): string {
  return `${sup.key}\u0000${kind}`;
}

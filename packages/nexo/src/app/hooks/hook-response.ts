import { clipText } from "../../util/index.js";

/** The hook points this host fires (docs/channels-and-hooks.md). */
export const HookNames = {
  /** An inbound channel event, before an agent binding runs its workflow. Upstream's name. */
  BEFORE_MESSAGE: "before_message",
  /** A tool call, before its arguments are checked and it is sent. Upstream's name. */
  BEFORE_TOOL_CALL: "before_tool_call",
  /** A message about to be sent on a channel (`app.channels.send`, outbound events of served channels). Nexo's addition. */
  BEFORE_OUTBOUND: "before_outbound",
} as const;

export type HookName = (typeof HookNames)[keyof typeof HookNames];

/** Every hook point, in the order they are documented. */
export const HOOK_POINTS: readonly HookName[] = [HookNames.BEFORE_MESSAGE, HookNames.BEFORE_TOOL_CALL, HookNames.BEFORE_OUTBOUND];

/** True when `name` is a hook point this host fires. */
export function isHookName(name: string): name is HookName {
  return (HOOK_POINTS as readonly string[]).includes(name);
}

/**
 * A hook's answer, upstream's `HookResponse`: `{}` (or nothing) allows.
 * `abort: true` or `decision: "block"` blocks; `override` is merged key by
 * key onto the event the next hook and the host see; `decision: "transform"`
 * with `transformed_body` rewrites the event's `body`; `do_not_reply_again`
 * silences further replies to the event's session.
 */
export interface HookResponse {
  abort?: boolean;
  reason?: string;
  override?: Record<string, unknown>;
  decision?: "allow" | "block" | "transform";
  transformed_body?: string;
  do_not_reply_again?: boolean;
}

/** A hook's answer read leniently: what the host acts on, or why it is ignored. */
export type ReadResponse =
  | {
      ok: true;
      block: boolean;
      reason: string | undefined;
      override: Record<string, unknown> | undefined;
      body: string | undefined;
      doNotReplyAgain: boolean;
      ignoredOverride: boolean;
    }
  | { ok: false; why: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Longest `reason` kept from a hook: it goes into logs, error messages and delivery statuses. */
export const MAX_HOOK_REASON_CHARS = 1024;

export const clipReason = (r: string): string => clipText(r, MAX_HOOK_REASON_CHARS);

/**
 * Read a hook's reply. `null`/`undefined` is `{}` (allow). A reply that is
 * not an object is malformed (the caller continues, as with any failure).
 * A non-object `override` is ignored, as upstream does.
 */
export function readHookResponse(v: unknown): ReadResponse {
  if (v === null || v === undefined) return { ok: true, block: false, reason: undefined, override: undefined, body: undefined, doNotReplyAgain: false, ignoredOverride: false };
  if (!isObj(v)) return { ok: false, why: `a hook reply must be an object (HookResponse), got ${Array.isArray(v) ? "an array" : typeof v}` };
  const decision = v.decision;
  const block = v.abort === true || decision === "block";
  const reason = typeof v.reason === "string" ? clipReason(v.reason) : undefined;
  const hasOverride = v.override !== undefined && v.override !== null;
  const override = hasOverride && isObj(v.override) ? v.override : undefined;
  const body = decision === "transform" && typeof v.transformed_body === "string" ? v.transformed_body : undefined;
  return { ok: true, block, reason, override, body, doNotReplyAgain: v.do_not_reply_again === true, ignoredOverride: hasOverride && override === undefined };
}

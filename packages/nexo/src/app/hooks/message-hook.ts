import type { Event } from "../../contract/index.js";
import { HookNames } from "./hook-response.js";
import type { HookEvent, HookPoints } from "./hook-points.js";

/** What `before_message` hooks decided about one inbound event. */
export type MessageVerdict = { action: "run"; event: Event; replyAllowed: boolean } | { action: "blocked"; by: string | undefined; reason: string | undefined };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The `before_message` event for an inbound channel event: upstream's
 * `sender` and `body` (read from the payload's `from`/`sender` and
 * `text`/`body`) beside Nexo's `topic`, `kind`, `instance`, ids and the whole `payload`.
 */
export function messageHookEvent(event: Event): HookEvent {
  const p = event.payload;
  const seg = event.topic.split(".");
  const sender = isObj(p) ? (p.from ?? p.sender ?? p.user ?? null) : null;
  const body = typeof p === "string" ? p : isObj(p) && typeof p.text === "string" ? p.text : isObj(p) && typeof p.body === "string" ? p.body : null;
  return {
    topic: event.topic,
    kind: seg[2] ?? null,
    instance: seg[3] ?? null,
    event_id: event.id,
    session_id: event.session_id,
    correlation_id: event.correlation_id ?? null,
    sender,
    body,
    payload: p,
  };
}

/**
 * Run the `before_message` hooks over an inbound event (no hook event is
 * built when none listens). A transform's new body lands where the
 * body was read from (`text`, else `body`, else a new `text`); an override of
 * `payload` replaces the payload. `replyAllowed` is false once a hook answered
 * `do_not_reply_again` for this event or its session.
 */
export async function beforeMessage(hooks: HookPoints, event: Event): Promise<MessageVerdict> {
  if (!hooks.has(HookNames.BEFORE_MESSAGE)) return { action: "run", event, replyAllowed: !hooks.isSilenced(event.session_id) };
  const before = messageHookEvent(event);
  const outcome = await hooks.fire(HookNames.BEFORE_MESSAGE, before);
  if (outcome.blocked) return { action: "blocked", by: outcome.by, reason: outcome.reason };
  const replyAllowed = !outcome.doNotReplyAgain && !hooks.isSilenced(event.session_id);
  if (!outcome.changed) return { action: "run", event, replyAllowed };
  const after = outcome.event;
  let payload = after.payload !== before.payload ? after.payload : event.payload;
  if (after.body !== before.body && typeof after.body === "string") {
    if (isObj(payload)) payload = { ...payload, [typeof payload.text === "string" || typeof payload.body !== "string" ? "text" : "body"]: after.body };
    else payload = after.body;
  }
  return { action: "run", event: { ...event, payload }, replyAllowed };
}

import { createHash } from "node:crypto";
import { WireError } from "./errors.js";
import { nowIso, uuidv7 } from "./ids.js";

/**
 * An event as it travels on the wire, for plugins and the host alike.
 * `P` defaults to `any` so reference-style `event.payload.to` compiles.
 */
export interface Event<P = any> {
  /** UUID v7 (time-ordered). */
  id: string;
  /** RFC 3339 UTC timestamp. */
  timestamp: string;
  topic: string;
  /** Who produced it: a plugin id, `nexo`, `plugin.supervisor`, ... */
  source: string;
  session_id: string | null;
  payload: P;
  correlation_id?: string;
  metadata?: Record<string, unknown>;
}

/** Optional fields of `Event.new`; an undefined `correlationId` or `metadata` is left out of the event. */
export interface EventExtras {
  sessionId?: string | null;
  correlationId?: string | null;
  metadata?: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** True for a hyphenated UUID, the only `session_id` an upstream host's event parser accepts. */
export function isUuid(s: string): boolean {
  return s.length === 36 && UUID.test(s);
}

// The RFC 4122 URL namespace; the name is prefixed so these ids cannot collide with other v5 uses of it.
const NAMESPACE = Buffer.from("6ba7b8119dad11d180b400c04fd430c8", "hex");

/** A name-based UUID (v5): the same text always gives the same UUID, so a conversation keeps one session id. */
export function sessionUuid(text: string): string {
  const h = createHash("sha1").update(NAMESPACE).update(`nexo:session:${text}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The event as it goes on the wire: `id`, `timestamp` and `session_id` always
 * present. An upstream host parses `id` and `session_id` as UUIDs and drops a
 * publish whose event does not parse; unless `stringSessionIds` (the Nexo host,
 * which takes any string), a non-UUID `session_id` becomes its name-based UUID
 * (stable per conversation) with the original kept in `metadata.session_id`,
 * and a non-UUID `id` is replaced (the original in `metadata.event_id`).
 */
export function wireEvent(e: Event, stringSessionIds: boolean): Event {
  const sid = e.session_id;
  const idOk = typeof e.id === "string" && e.id !== "" && (stringSessionIds || isUuid(e.id));
  const sidOk = sid === null || sid === undefined || (typeof sid === "string" && (stringSessionIds || isUuid(sid)));
  if (idOk && sidOk && typeof e.timestamp === "string" && sid !== undefined) return e;
  const out: Event = { ...e };
  if (!idOk) {
    out.id = uuidv7();
    if (typeof e.id === "string" && e.id !== "") out.metadata = { ...out.metadata, event_id: e.id };
  }
  if (typeof e.timestamp !== "string") out.timestamp = nowIso();
  if (sid === undefined) out.session_id = null;
  else if (!sidOk) {
    out.session_id = typeof sid === "string" && sid !== "" ? sessionUuid(sid) : null;
    out.metadata = { ...out.metadata, session_id: sid };
  }
  return out;
}

/**
 * A new event with all six fields set: a UUID v7 id, an RFC 3339 UTC
 * timestamp, a null session unless given. `Event.new` is this function.
 * @example newEvent("plugin.outbound.echo", "cli", { text: "hi" })
 */
export function newEvent<P>(topic: string, source: string, payload: P, extra: EventExtras = {}): Event<P> {
  const e: Event<P> = { id: uuidv7(), timestamp: nowIso(), topic, source, session_id: extra.sessionId ?? null, payload };
  if (extra.correlationId !== undefined && extra.correlationId !== null) e.correlation_id = extra.correlationId;
  if (extra.metadata !== undefined) e.metadata = extra.metadata;
  return e;
}

/**
 * `Event.new(topic, source, payload)`: all six fields set (UUID v7 id, RFC 3339
 * UTC timestamp, null session); `Event.fromJson` / `Event.toJson` convert
 * from and to the wire object.
 */
export const Event = {
  new: newEvent,
  /** An event from its wire JSON. Throws WireError unless it is an object with a string `topic`; missing `source`/`session_id`/`payload` become `""`/null/null. */
  fromJson(value: unknown): Event {
    if (!isObj(value)) throw new WireError("event must be a JSON object");
    if (typeof value.topic !== "string") throw new WireError("event has no string `topic`");
    const e = { ...value } as Record<string, unknown>;
    if (typeof e.source !== "string") e.source = "";
    if (e.session_id === undefined) e.session_id = null;
    if (e.payload === undefined) e.payload = null;
    return e as unknown as Event;
  },
  /** The wire JSON of an event, `id` and `timestamp` filled in when missing. */
  toJson(e: Event): Record<string, unknown> {
    return wireEvent(e, true) as unknown as Record<string, unknown>;
  },
};

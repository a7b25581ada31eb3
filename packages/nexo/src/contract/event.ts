import { Event as SharedEvent, newEvent, nowIso, uuidv7, type EventExtras } from "nexo-plugin-sdk/contract";
import { ErrorCodes, NexoError } from "../errors.js";

/**
 * An event on the broker, as it travels on the wire (docs/contract.md, Broker
 * bridge): the SDK's shape, with an `unknown` payload unless told, so host
 * code checks what a plugin sent before using it.
 */
export type Event<P = unknown> = SharedEvent<P>;

/** `Event.new(topic, source, payload)` (`newEvent`), `Event.fromJson`, `Event.toJson`: the SDK's, one object for both ends. */
export const Event = SharedEvent;

/** Options of `newEvent`: `sessionId`, `correlationId`, `metadata`. */
export type NewEventOptions = EventExtras;

/** A new event with all six fields set. @example newEvent("plugin.outbound.echo", "cli", { text: "hi" }) */
export { newEvent };

/**
 * Validate an event received from a plugin and fill in what some SDKs omit
 * (`id`, `timestamp`, `session_id`). `topic` is forced to the frame's topic.
 * Throws NEXO_ERR_CONTRACT_INVALID_EVENT naming the bad field.
 */
export function completeEvent(raw: unknown, topic: string, fallbackSource: string): Event {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new NexoError(ErrorCodes.CONTRACT_INVALID_EVENT, "event must be a JSON object", { field: "event" });
  }
  const r = raw as Record<string, unknown>;
  const id = optionalString(r, "id");
  const timestamp = optionalString(r, "timestamp");
  const source = optionalString(r, "source");
  const sessionId = optionalString(r, "session_id");
  const correlationId = optionalString(r, "correlation_id");
  if (timestamp !== undefined && Number.isNaN(Date.parse(timestamp))) {
    throw new NexoError(ErrorCodes.CONTRACT_INVALID_EVENT, `event.timestamp is not an RFC 3339 date: ${timestamp}`, { field: "timestamp" });
  }
  const metadata = r.metadata;
  if (metadata !== undefined && metadata !== null && (typeof metadata !== "object" || Array.isArray(metadata))) {
    throw new NexoError(ErrorCodes.CONTRACT_INVALID_EVENT, "event.metadata must be an object", { field: "metadata" });
  }
  const event: Event = {
    id: id && id.length > 0 ? id : uuidv7(),
    timestamp: timestamp ?? nowIso(),
    topic,
    source: source && source.length > 0 ? source : fallbackSource,
    session_id: sessionId ?? null,
    payload: r.payload === undefined ? null : r.payload,
  };
  if (correlationId !== undefined) event.correlation_id = correlationId;
  if (metadata) event.metadata = metadata as Record<string, unknown>;
  return event;
}

/** `r[k]` when it is a string, undefined when absent or null; anything else is an invalid event. */
function optionalString(r: Record<string, unknown>, k: string): string | undefined {
  const v = r[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    throw new NexoError(ErrorCodes.CONTRACT_INVALID_EVENT, `event.${k} must be a string, got ${typeof v}`, { field: k });
  }
  return v;
}

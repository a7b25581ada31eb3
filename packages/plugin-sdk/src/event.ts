import { nowIso, uuidv7 } from "./ids.js";

/** An event as it travels on the wire. `P` defaults to `any` so seed-style `event.payload.to` compiles. */
export interface Event<P = any> {
  id: string;
  timestamp: string;
  topic: string;
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

/** `Event.new(topic, source, payload)`: all six fields set (UUID v7 id, RFC 3339 UTC timestamp, null session). */
export const Event = {
  new<P>(topic: string, source: string, payload: P, extra: EventExtras = {}): Event<P> {
    const e: Event<P> = { id: uuidv7(), timestamp: nowIso(), topic, source, session_id: extra.sessionId ?? null, payload };
    if (extra.correlationId !== undefined && extra.correlationId !== null) e.correlation_id = extra.correlationId;
    if (extra.metadata !== undefined) e.metadata = extra.metadata;
    return e;
  },
};

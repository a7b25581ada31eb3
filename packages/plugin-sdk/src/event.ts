import { randomBytes } from "node:crypto";

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

let pool = Buffer.alloc(0);
let poolOffset = 0;

/** 16 random bytes from a pooled buffer: one getrandom call per 256 ids instead of one each. */
function random16(): Buffer {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(16 * 256);
    poolOffset = 0;
  }
  const b = Buffer.from(pool.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return b;
}

/** A UUID v7 (RFC 9562): 48-bit ms timestamp, version, random bits; sorts by creation time. */
export function uuidv7(): string {
  const b = random16();
  const ms = Date.now();
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
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
    const e: Event<P> = { id: uuidv7(), timestamp: new Date().toISOString(), topic, source, session_id: extra.sessionId ?? null, payload };
    if (extra.correlationId !== undefined && extra.correlationId !== null) e.correlation_id = extra.correlationId;
    if (extra.metadata !== undefined) e.metadata = extra.metadata;
    return e;
  },
};

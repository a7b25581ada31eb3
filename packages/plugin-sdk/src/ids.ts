import { randomFillSync } from "node:crypto";

const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let offset = pool.length;
let lastMs = -Infinity;
let seq = 0;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));
let isoMs = -1;
let isoText = "";

/**
 * A UUID v7 (RFC 9562) whose random bits come from a pooled buffer: one
 * getrandom call per 256 ids instead of one per id (the per-id call showed
 * on the HTTP hot path: BENCHMARKS.md, HTTP API), formatted without
 * intermediate buffers. Ids are time-ordered and strictly increasing within a
 * millisecond: a 31-bit counter seeded from random bits (method 1, as the
 * `uuid` package's v7 does). The host uses this same generator for its own ids.
 */
export function uuidv7(): string {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += 16;
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seq = ((pool[r + 6] & 0x7f) << 24) | (pool[r + 7] << 16) | (pool[r + 8] << 8) | pool[r + 9];
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  const ms = lastMs;
  return (
    HEX[Math.floor(ms / 0x10000000000) & 0xff] +
    HEX[Math.floor(ms / 0x100000000) & 0xff] +
    HEX[Math.floor(ms / 0x1000000) & 0xff] +
    HEX[Math.floor(ms / 0x10000) & 0xff] +
    "-" +
    HEX[Math.floor(ms / 0x100) & 0xff] +
    HEX[ms & 0xff] +
    "-" +
    HEX[0x70 | ((seq >>> 28) & 0x0f)] +
    HEX[(seq >>> 20) & 0xff] +
    "-" +
    HEX[0x80 | ((seq >>> 14) & 0x3f)] +
    HEX[(seq >>> 6) & 0xff] +
    "-" +
    HEX[((seq << 2) & 0xff) | (pool[r + 10] & 0x03)] +
    HEX[pool[r + 11]] +
    HEX[pool[r + 12]] +
    HEX[pool[r + 13]] +
    HEX[pool[r + 14]] +
    HEX[pool[r + 15]]
  );
}

/** `new Date().toISOString()`, reusing the text within the same millisecond (many events share one under load). */
export function nowIso(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

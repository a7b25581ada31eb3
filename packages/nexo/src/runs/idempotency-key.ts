import { ErrorCodes, NexoError } from "../errors.js";
import { digestText } from "../util/index.js";

/** The request header (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_HEADER = "idempotency-key";

/** Longest key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * The key of an `Idempotency-Key` header. The draft makes it a Structured
 * Field string (`"8e03978e-40d5"`); a bare token is accepted too, as most
 * clients send one. Printable ASCII, 1 to 255 characters; anything else is
 * NEXO_ERR_IDEMPOTENCY_KEY_INVALID (400).
 */
export function parseIdempotencyKey(header: string | string[]): string {
  if (Array.isArray(header)) {
    throw new NexoError(ErrorCodes.IDEMPOTENCY_KEY_INVALID, "send one Idempotency-Key header, not several");
  }
  let key = header.trim();
  if (key.startsWith('"')) {
    if (key.length < 2 || !key.endsWith('"')) throw new NexoError(ErrorCodes.IDEMPOTENCY_KEY_INVALID, "the Idempotency-Key is a quoted string without its closing quote");
    key = key.slice(1, -1).replace(/\\(["\\])/g, "$1");
  }
  const rule = `the Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) throw new NexoError(ErrorCodes.IDEMPOTENCY_KEY_INVALID, `${rule}, got ${key.length}`);
  const bad = key.search(/[^\x20-\x7e]/);
  if (bad >= 0) {
    // Say which character: a key of the right length refused for its length reads as a bug.
    throw new NexoError(ErrorCodes.IDEMPOTENCY_KEY_INVALID, `${rule}; character ${bad + 1} is not (non-ASCII bytes, or a control character)`);
  }
  return key;
}

/** A digest of what a request asks for: the workflow and its inputs (object keys sorted, so key order does not matter). */
export function requestFingerprint(workflow: string, inputs: unknown): string {
  // Stored with each key and compared on every retry, across upgrades too: the text hashed must never change.
  return digestText("sha256", `${workflow}\0${canonicalJson(inputs)}`, "base64url");
}

function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${keys
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
    .join(",")}}`;
}

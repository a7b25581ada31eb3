import { digestText } from "../../util/index.js";

/** Deeper than this is treated as cyclic (cheaper than tracking every object on the path). */
const MAX_DEPTH = 256;

/**
 * JSON with object keys sorted at every depth, so `{a:1,b:2}` and `{b:2,a:1}`
 * give the same text. Throws on values JSON cannot carry the same way twice
 * (functions, symbols, bigints, cycles); callers then skip the cache.
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0) ?? "null";
}

function write(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      return undefined;
    case "object":
      break;
    default:
      throw new TypeError(`cannot make a cache key from a ${typeof v}`);
  }
  if (v === null) return "null";
  if (depth >= MAX_DEPTH) throw new TypeError("cannot make a cache key from a cyclic or too deeply nested value");
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return write((v as { toJSON: () => unknown }).toJSON(), depth + 1);
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ",";
      out += write(v[i], depth + 1) ?? "null";
    }
    return `${out}]`;
  }
  const keys = Object.keys(v).sort();
  let out = "{";
  let first = true;
  for (const k of keys) {
    const s = write((v as Record<string, unknown>)[k], depth + 1);
    if (s === undefined) continue;
    out += first ? `${JSON.stringify(k)}:${s}` : `,${JSON.stringify(k)}:${s}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * The cache key of one call: SHA-256 (hex) of the workflow name, the
 * principal's id when the result may differ per caller, and the canonical
 * JSON of its inputs. Inputs are compared as JSON, the way they travel over
 * HTTP: what JSON drops (functions, symbols, undefined) does not count, and
 * what JSON cannot carry (bigints, cycles) throws; callers then skip the cache.
 */
export function cacheKey(workflow: string, inputs: unknown, principalId?: string): string {
  return keyOfJson(workflow, inputsJson(inputs), principalId);
}

function inputsJson(inputs: unknown): string {
  return JSON.stringify(inputs) ?? "null";
}

/** The key from the inputs' JSON text: canonical JSON is made from the parsed text, so one text always gives one key. */
function keyOfJson(workflow: string, json: string, principalId: string | undefined): string {
  // JSON strings cannot contain a raw newline, so the three parts never run into each other.
  const principal = principalId === undefined ? "" : JSON.stringify(principalId);
  return digestText("sha256", `${JSON.stringify(workflow)}\n${principal}\n${canonicalJson(JSON.parse(json))}`);
}

interface Remembered {
  workflow: string;
  principalId: string | undefined;
  key: string;
}

/**
 * `cacheKey` for repeated calls: remembers the key of each recent inputs JSON
 * text, so a call seen before costs one native `JSON.stringify` and a lookup
 * instead of sorting keys and hashing (most of a cache hit's cost).
 * Bounded: texts longer than `maxTextLength` are not remembered, and the
 * table is emptied when it reaches `maxEntries`.
 */
export class CacheKeys {
  private readonly remembered = new Map<string, Remembered>();

  constructor(
    private readonly maxEntries = 4096,
    private readonly maxTextLength = 1024,
  ) {}

  /** Same result as `cacheKey(workflow, inputs, principalId)`. */
  keyOf(workflow: string, inputs: unknown, principalId?: string): string {
    const json = inputsJson(inputs);
    if (json.length > this.maxTextLength) return keyOfJson(workflow, json, principalId);
    const r = this.remembered.get(json);
    if (r !== undefined && r.workflow === workflow && r.principalId === principalId) return r.key;
    const key = keyOfJson(workflow, json, principalId);
    if (this.remembered.size >= this.maxEntries) this.remembered.clear();
    this.remembered.set(json, { workflow, principalId, key });
    return key;
  }

  /** Texts remembered now. */
  get size(): number {
    return this.remembered.size;
  }

  clear(): void {
    this.remembered.clear();
  }
}

/** Nesting past which plain data is handed to structuredClone (which handles cycles). */
const MAX_DEPTH = 64;

/** Returned by `copyPlain` when a value is not plain JSON-like data. */
const NOT_PLAIN = Symbol("not plain");

/**
 * A deep copy of a workflow result, so neither the cache nor its callers can
 * change what the other holds. Plain data (primitives, arrays, objects with
 * the default prototype) is copied directly, several times faster than
 * `structuredClone` for the small results workflows usually return; anything
 * else (Date, Map, typed arrays, cycles) goes through `structuredClone`,
 * which throws on values it cannot copy (functions, class instances with
 * private state): callers then skip the cache.
 */
export function copyResult<T>(value: T): T {
  const out = copyPlain(value, 0);
  return out === NOT_PLAIN ? structuredClone(value) : (out as T);
}

function copyPlain(v: unknown, depth: number): unknown {
  if (typeof v !== "object" || v === null) return typeof v === "function" || typeof v === "symbol" ? NOT_PLAIN : v;
  if (depth >= MAX_DEPTH) return NOT_PLAIN;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = copyPlain(v[i], depth + 1);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[i] = c;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  const out: Record<string, unknown> = proto === null ? Object.create(null) : {};
  for (const k in v) {
    const c = copyPlain((v as Record<string, unknown>)[k], depth + 1);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    // An own "__proto__" key (JSON.parse makes them) must stay a key, not become the copy's prototype.
    if (k === "__proto__") Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    else out[k] = c;
  }
  return out;
}

import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every depth, so `{a:1,b:2}` and `{b:2,a:1}`
 * give the same text. Throws on values JSON cannot carry the same way twice
 * (functions, symbols, bigints, cycles); callers then skip the cache.
 */
export function canonicalJson(value: unknown): string {
  const stack: object[] = [];
  const walk = (v: unknown): string | undefined => {
    if (v === null) return "null";
    switch (typeof v) {
      case "string":
      case "boolean":
        return JSON.stringify(v);
      case "number":
        return Number.isFinite(v) ? JSON.stringify(v) : "null";
      case "undefined":
        return undefined;
      case "object":
        break;
      default:
        throw new TypeError(`cannot make a cache key from a ${typeof v}`);
    }
    const o = v as object;
    if (stack.includes(o)) throw new TypeError("cannot make a cache key from a cyclic value");
    if (typeof (o as { toJSON?: unknown }).toJSON === "function") return walk((o as { toJSON: () => unknown }).toJSON());
    stack.push(o);
    let out: string;
    if (Array.isArray(o)) {
      out = `[${o.map((x) => walk(x) ?? "null").join(",")}]`;
    } else {
      const parts: string[] = [];
      for (const k of Object.keys(o).sort()) {
        const s = walk((o as Record<string, unknown>)[k]);
        if (s !== undefined) parts.push(`${JSON.stringify(k)}:${s}`);
      }
      out = `{${parts.join(",")}}`;
    }
    stack.pop();
    return out;
  };
  return walk(value) ?? "null";
}

/**
 * The cache key of one call: SHA-256 (hex) of the workflow name and the
 * canonical JSON of its inputs, plus the principal's id when the result may
 * differ per caller.
 */
export function cacheKey(workflow: string, inputs: unknown, principalId?: string): string {
  const data = canonicalJson(principalId === undefined ? { workflow, inputs } : { workflow, inputs, principal: principalId });
  return createHash("sha256").update(data).digest("hex");
}

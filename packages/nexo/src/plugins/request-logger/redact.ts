/** Secret-looking keys redacted by default (compared without case, `_` or `-`). */
export const DEFAULT_REDACT_KEYS: readonly string[] = [
  "password",
  "passwd",
  "secret",
  "token",
  "accessToken",
  "refreshToken",
  "idToken",
  "apiKey",
  "authorization",
  "cookie",
  "clientSecret",
  "privateKey",
];

const REDACTED = "[redacted]";
const MAX_DEPTH = 8;

/** `api_key`, `apiKey` and `API-KEY` are one key. */
export function normalizeKey(key: string): string {
  return key.replace(/[_-]/g, "").toLowerCase();
}

/**
 * A copy of `value` where every property whose (normalized) name is in `keys`
 * is replaced by "[redacted]", at any depth. Cycles and anything deeper than
 * 8 levels become "[truncated]", so a hostile input cannot blow the stack.
 */
export function redact(value: unknown, keys: ReadonlySet<string>): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (depth >= MAX_DEPTH || seen.has(v)) return "[truncated]";
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[k] = keys.has(normalizeKey(k)) ? REDACTED : walk(x, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}

/**
 * JSON with object keys sorted, so two values that differ only in key order
 * (YAML written in another order, a manifest loaded twice) compare equal.
 * `undefined` members are left out, as JSON.stringify does.
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** True when `a` and `b` serialize to the same stable JSON. */
export function sameValue(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

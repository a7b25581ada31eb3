import { ErrorCodes, NexoError } from "../errors.js";
import { countPlaceholders } from "./placeholders.js";
import type { SqlValue } from "./types.js";

/**
 * Check that `params` fill every placeholder of `sql` and convert them to what
 * both drivers accept: booleans as 1 / 0, byte arrays as Buffer, and (for
 * PostgreSQL, whose driver cannot encode them) bigints as decimal strings.
 * Throws NEXO_ERR_STORE_QUERY naming the mismatch.
 */
export function bindParams(sql: string, params: readonly SqlValue[] | undefined, placeholders: number | undefined, bigintAsString: boolean): unknown[] {
  const list = params ?? [];
  if (!Array.isArray(list)) throw new NexoError(ErrorCodes.STORE_QUERY, `query parameters must be an array, got ${typeof list}`, { field: "params" });
  const expected = placeholders ?? countPlaceholders(sql);
  if (expected !== list.length) {
    throw new NexoError(ErrorCodes.STORE_QUERY, `statement has ${expected} placeholder(s) but ${list.length} parameter(s) were given: ${abbreviate(sql)}`, { field: "params" });
  }
  return list.map((v, i) => {
    if (v === null || typeof v === "string" || typeof v === "number") return v;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "bigint") return bigintAsString ? v.toString() : v;
    if (Buffer.isBuffer(v)) return v;
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    throw new NexoError(
      ErrorCodes.STORE_QUERY,
      `parameter ${i + 1} has unsupported type ${v === undefined ? "undefined" : typeof v} (use string, number, bigint, boolean, null or bytes)`,
      { field: `params[${i}]` },
    );
  });
}

/** The first line of a statement, shortened, for error messages (never the parameters). */
export function abbreviate(sql: string): string {
  const flat = sql.replace(/\s+/g, " ").trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

import { ErrorCodes, NexoError } from "../errors.js";
import type { ActionKind, AuditQuery } from "./types.js";

const KINDS: readonly ActionKind[] = ["workflow", "tool", "admin"];

function bad(field: string, message: string): NexoError {
  return new NexoError(ErrorCodes.HTTP_BAD_REQUEST, `audit query: ${field} ${message}`, { field });
}

/**
 * An audit query from untrusted text parameters (HTTP query string, control
 * socket params): every field checked, unknown fields refused.
 */
export function parseAuditQuery(raw: Record<string, unknown>): AuditQuery {
  const q: AuditQuery = {};
  const text = (k: string, v: unknown): string => {
    if (typeof v !== "string" || v.length === 0 || v.length > 256) throw bad(k, "must be a string of 1-256 characters");
    return v;
  };
  const int = (k: string, v: unknown, min: number, max: number): number => {
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw bad(k, `must be a whole number from ${min} to ${max}`);
    return n;
  };
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    switch (k) {
      case "principal":
      case "tenant":
      case "name":
        q[k] = text(k, v);
        break;
      case "kind":
        if (!KINDS.includes(v as ActionKind)) throw bad(k, `must be one of ${KINDS.join(", ")}`);
        q.kind = v as ActionKind;
        break;
      case "allowed":
        if (v !== true && v !== false && v !== "true" && v !== "false") throw bad(k, "must be true or false");
        q.allowed = v === true || v === "true";
        break;
      case "since": {
        const ms = typeof v === "number" ? v : Date.parse(text(k, v));
        if (!Number.isFinite(ms)) throw bad(k, "must be an ISO 8601 time or epoch milliseconds");
        q.since = ms;
        break;
      }
      case "limit":
        q.limit = int(k, v, 1, 1000);
        break;
      case "before":
        q.before = int(k, v, 1, Number.MAX_SAFE_INTEGER);
        break;
      default:
        throw bad(k, "is not a filter (principal, tenant, kind, name, allowed, since, limit, before)");
    }
  }
  return q;
}

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** Hop-by-hop headers (RFC 9110 7.6.1 plus the legacy ones proxies strip): they describe one connection, never forwarded. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Copy `headers` without hop-by-hop ones, without any header the
 * `Connection` header names, and without `drop` (lower-case names).
 */
export function stripHopByHop(headers: IncomingHttpHeaders, drop: readonly string[] = []): OutgoingHttpHeaders {
  const named = new Set<string>(drop);
  const conn = headers.connection;
  if (typeof conn === "string") {
    for (const token of conn.split(",")) {
      const name = token.trim().toLowerCase();
      if (name) named.add(name);
    }
  }
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

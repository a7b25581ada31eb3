import { ErrorCodes, NexoError } from "../../errors.js";

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** True for `localhost`, `127.0.0.1` and `::1` (bracketed or not). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_NAMES.has(hostname.toLowerCase());
}

function hostnameOf(hostHeader: string): string {
  // "[::1]:8000" -> "[::1]", "127.0.0.1:8000" -> "127.0.0.1"
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  const colon = hostHeader.lastIndexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

/**
 * DNS-rebinding defence the MCP transport spec asks servers for: when the API
 * is bound to a loopback address, the `Host` header must name a loopback host,
 * and an `Origin` (sent by browsers) must be a loopback origin, the API's own
 * host, or one of `allowedOrigins` (exact `scheme://host[:port]`). Throws
 * NEXO_ERR_MCP_ORIGIN_DENIED (403).
 */
export function checkMcpOrigin(headers: { host?: string | undefined; origin?: string | undefined }, apiHost: string, allowedOrigins: readonly string[] = []): void {
  const boundToLoopback = isLoopbackHost(apiHost);
  if (boundToLoopback && headers.host && !isLoopbackHost(hostnameOf(headers.host))) {
    throw new NexoError(ErrorCodes.MCP_ORIGIN_DENIED, `MCP requests must address this loopback server by a loopback name, not Host ${JSON.stringify(headers.host)}`);
  }
  const origin = headers.origin;
  if (origin === undefined || origin === "") return;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new NexoError(ErrorCodes.MCP_ORIGIN_DENIED, `Origin ${JSON.stringify(origin)} is not a URL`);
  }
  if (isLoopbackHost(url.hostname) || url.hostname === apiHost || allowedOrigins.includes(url.origin)) return;
  const also = allowedOrigins.length > 0 ? `, ${apiHost} and the configured mcp_allowed_origins` : ` and ${apiHost}; add it to api.mcp_allowed_origins to allow it`;
  throw new NexoError(ErrorCodes.MCP_ORIGIN_DENIED, `Origin ${origin} may not use this MCP endpoint (only loopback origins${also})`);
}

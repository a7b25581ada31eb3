import type { BackoffOptions } from "./backoff.js";

/** The operator's settings (`plugins.ws_gateway.config` in nexo.yaml). */
export interface GatewayConfig {
  /** ws:// or wss:// URL to hold a connection to. */
  url: string;
  backoff: BackoffOptions;
  /** Ping this often; a peer that has not answered the previous ping by then is dropped. 0 = no pings. */
  pingIntervalMs: number;
  /** Outbound messages kept while disconnected; beyond it the oldest are dropped (counted in the log). */
  maxPendingOutbound: number;
  /** Largest inbound message accepted; larger ones close the connection (1009) and it reconnects. */
  maxMessageBytes: number;
  /** How long a clean close waits for the server's close frame before cutting the TCP connection. */
  closeTimeoutMs: number;
  /** Opening handshake deadline. */
  connectTimeoutMs: number;
}

const DEFAULTS = {
  backoff_initial_ms: 500,
  backoff_max_ms: 30_000,
  backoff_jitter: 0.2,
  ping_interval_ms: 30_000,
  max_pending_outbound: 1000,
  max_message_bytes: 512 * 1024,
  close_timeout_ms: 2000,
  connect_timeout_ms: 10_000,
};

type Key = keyof typeof DEFAULTS | "url";

/** Check `plugin.configure`'s value; the Error names the key, the value received and its type. */
export function parseConfig(value: unknown): GatewayConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`config must be a mapping, got ${JSON.stringify(value)}`);
  const v = value as Record<string, unknown>;
  const known = new Set<string>(["url", ...Object.keys(DEFAULTS)]);
  const unknown = Object.keys(v).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`unknown config key(s) ${unknown.join(", ")} (known: ${[...known].join(", ")})`);
  const url = v.url;
  if (typeof url !== "string" || !/^wss?:\/\/./.test(url)) throw new Error(`url must be a ws:// or wss:// URL, got ${JSON.stringify(url)} (${typeof url})`);
  const num = (key: Exclude<Key, "url">, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const x = v[key] ?? DEFAULTS[key];
    if (typeof x !== "number" || !Number.isFinite(x) || x < min || x > max) throw new Error(`${key} must be a number in ${min}..${max}, got ${JSON.stringify(x)} (${typeof x})`);
    return x;
  };
  const initialMs = num("backoff_initial_ms", 1);
  return {
    url,
    backoff: { initialMs, maxMs: num("backoff_max_ms", initialMs), jitter: num("backoff_jitter", 0, 1) },
    pingIntervalMs: num("ping_interval_ms", 0),
    maxPendingOutbound: num("max_pending_outbound", 0),
    maxMessageBytes: num("max_message_bytes", 1, 1_000_000),
    closeTimeoutMs: num("close_timeout_ms", 1),
    connectTimeoutMs: num("connect_timeout_ms", 1),
  };
}

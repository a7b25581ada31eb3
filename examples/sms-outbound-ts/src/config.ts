/** The operator's settings (`plugins.sms_outbound.config`) plus the secret from the environment. */
export interface SmsConfig {
  /** Base URL of the Messages API, without a trailing slash. Default https://api.twilio.com. */
  apiBaseUrl: string;
  accountSid: string;
  /** Sender number (E.164) used when an outbound event names none. */
  from: string;
  /** Per-request deadline. */
  timeoutMs: number;
  /** Requests to the provider at the same time. */
  maxConcurrency: number;
  /** How long shutdown waits for sends in flight before abandoning them. Keep under the host's 3 s shutdown deadline. */
  shutdownWaitMs: number;
  authToken: string;
}

const E164 = /^\+[1-9]\d{1,14}$/;

/** True for an E.164 number (`+` and up to 15 digits). */
export function isE164(v: unknown): v is string {
  return typeof v === "string" && E164.test(v);
}

/**
 * Check `plugin.configure`'s value. `account_sid` may come from env ACCOUNT_SID
 * instead; the token only ever comes from env AUTH_TOKEN (nexo.yaml
 * `auth_token_env: <VAR>`). Errors name the key, never a secret.
 */
export function parseConfig(value: unknown, env: NodeJS.ProcessEnv = process.env): SmsConfig {
  const v = (value ?? {}) as Record<string, unknown>;
  if (typeof v !== "object" || Array.isArray(v)) throw new Error(`config must be a mapping, got ${JSON.stringify(value)}`);
  const known = ["api_base_url", "account_sid", "from", "timeout_ms", "max_concurrency", "shutdown_wait_ms"];
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`unknown config key(s) ${unknown.join(", ")} (known: ${known.join(", ")})`);
  const base = v.api_base_url ?? "https://api.twilio.com";
  if (typeof base !== "string" || !/^https?:\/\/[^/]/.test(base)) throw new Error(`api_base_url must be an http(s) URL, got ${JSON.stringify(base)}`);
  const accountSid = v.account_sid ?? env.ACCOUNT_SID;
  if (typeof accountSid !== "string" || !/^AC[0-9a-zA-Z]{8,64}$/.test(accountSid)) {
    throw new Error(`account_sid (or env ACCOUNT_SID) must look like AC followed by letters and digits, got ${JSON.stringify(accountSid ?? null)}`);
  }
  if (!isE164(v.from)) throw new Error(`from must be an E.164 number like +15551234567, got ${JSON.stringify(v.from ?? null)}`);
  const num = (key: string, fallback: number, min: number): number => {
    const x = v[key] ?? fallback;
    if (typeof x !== "number" || !Number.isInteger(x) || x < min) throw new Error(`${key} must be an integer >= ${min}, got ${JSON.stringify(x)} (${typeof x})`);
    return x;
  };
  const authToken = env.AUTH_TOKEN;
  if (!authToken) throw new Error("no auth token: set auth_token_env: <VAR> on the plugin in nexo.yaml (the daemon passes $VAR as AUTH_TOKEN)");
  return {
    apiBaseUrl: base.replace(/\/+$/, ""),
    accountSid,
    from: v.from,
    timeoutMs: num("timeout_ms", 10_000, 1),
    maxConcurrency: num("max_concurrency", 4, 1),
    shutdownWaitMs: num("shutdown_wait_ms", 2000, 0),
    authToken,
  };
}

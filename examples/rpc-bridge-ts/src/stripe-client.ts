// A small client for the Stripe-style REST API this bridge wraps: form-encoded
// bodies, Bearer secret key, JSON replies, errors as {error: {type, code, message, param}}.
// Failures become the tool errors of the contract so the agent gets a useful code.
import { ToolExecutionFailedError, ToolInvalidArgsError, ToolUnavailableError } from "nexo-plugin-sdk";

/** How to reach the API. */
export interface StripeClientOptions {
  /** e.g. https://api.stripe.com (a loopback fake in tests). */
  apiBase: string;
  /** The secret key (sk_...). Never logged, never put in an error message. */
  apiKey: string | undefined;
  /** Deadline of one HTTP request. */
  timeoutMs: number;
}

/** A Stripe error body. */
interface StripeErrorBody {
  error?: { type?: string; code?: string; message?: string; param?: string };
}

/**
 * Stripe's form encoding: nested objects as `a[b]=c`, arrays as `a[0]=x`.
 * @example toForm({ customer: "cus_1", metadata: { order: "42" } }) === "customer=cus_1&metadata%5Border%5D=42"
 */
export function toForm(params: Record<string, unknown>): string {
  const out = new URLSearchParams();
  const add = (key: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) return value.forEach((v, i) => add(`${key}[${i}]`, v));
    if (typeof value === "object") return Object.entries(value as Record<string, unknown>).forEach(([k, v]) => add(`${key}[${k}]`, v));
    out.append(key, String(value));
  };
  for (const [k, v] of Object.entries(params)) add(k, v);
  return out.toString();
}

/** Calls the invoices endpoints; every failure is a ToolError subclass. */
export class StripeClient {
  constructor(private readonly options: StripeClientOptions) {}

  /** POST /v1/invoices. `idempotencyKey` makes a retried call create one invoice, not two. */
  createInvoice(params: Record<string, unknown>, idempotencyKey: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.request("POST", "/v1/invoices", toForm(params), idempotencyKey, signal);
  }

  /** GET /v1/invoices/:id. */
  getInvoice(id: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.request("GET", `/v1/invoices/${encodeURIComponent(id)}`, undefined, undefined, signal);
  }

  private async request(method: string, path: string, body: string | undefined, idempotencyKey: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const { apiBase, apiKey, timeoutMs } = this.options;
    if (!apiKey) throw new ToolExecutionFailedError("the billing plugin has no API key: set STRIPE_API_KEY (in nexo.yaml: stripe_api_key_env: <VAR>)");
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    const deadline = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(new URL(path, apiBase), { method, headers, body, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
    } catch (err) {
      const why = deadline.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).message;
      throw new ToolUnavailableError(`invoices API unreachable: ${why}`, 5000);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ToolExecutionFailedError(`invoices API answered ${res.status} with a body that is not JSON`);
    }
    if (res.ok) return json as Record<string, unknown>;
    throw toToolError(res.status, (json as StripeErrorBody).error ?? {}, res.headers.get("retry-after"));
  }
}

/** Stripe's status and error type to the contract's tool errors. */
function toToolError(status: number, e: NonNullable<StripeErrorBody["error"]>, retryAfter: string | null): Error {
  // Stripe masks keys in its own messages (sk_test_****1234); nothing else from the request is echoed.
  const message = `${e.message ?? "request failed"} (HTTP ${status}${e.code ? `, ${e.code}` : ""})`;
  if (status === 429 || status >= 500) {
    const seconds = Number(retryAfter);
    return new ToolUnavailableError(message, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000);
  }
  if (status === 400 || status === 404) {
    // A parameter Stripe refused (unknown customer, bad currency) is the agent's to fix: invalid arguments, pointing at it.
    return new ToolInvalidArgsError(message, [{ path: e.param ? `/${e.param}` : "", message: e.message ?? "refused by the API" }]);
  }
  return new ToolExecutionFailedError(message);
}

import type { SmsConfig } from "./config.js";

/** One message to send. */
export interface SmsRequest {
  to: string;
  body: string;
  from: string;
}

/** Why a send failed, as reported in the delivery event. */
export type FailureReason =
  "not_configured" | "invalid_request" | "unauthorized" | "rejected" | "rate_limited" | "provider_error" | "bad_response" | "timeout" | "network" | "shutdown";

/** The outcome of one send: the provider's id and status, or why it failed. */
export type SendResult =
  | { ok: true; providerId: string; status: string; httpStatus: number }
  | { ok: false; reason: FailureReason; httpStatus: number | null; errorCode: number | null; errorMessage: string; retryable: boolean };

/** Most bytes of a provider reply read; a longer one is a bad response. */
const MAX_REPLY_BYTES = 256 * 1024;

/**
 * `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with a form body
 * (To, From, Body) and HTTP Basic auth (account sid, auth token), as Twilio's
 * Messages API takes it. Never throws: every failure is a `SendResult`.
 * A timeout is ambiguous (the provider may have accepted the message), so it is
 * not marked retryable.
 */
export async function sendSms(cfg: SmsConfig, msg: SmsRequest, signal: AbortSignal): Promise<SendResult> {
  const url = `${cfg.apiBaseUrl}/2010-04-01/Accounts/${encodeURIComponent(cfg.accountSid)}/Messages.json`;
  const timeout = AbortSignal.timeout(cfg.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${cfg.accountSid}:${cfg.authToken}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: new URLSearchParams({ To: msg.to, From: msg.from, Body: msg.body }).toString(),
      signal: AbortSignal.any([timeout, signal]),
      redirect: "error",
    });
    text = await readCapped(res);
  } catch (err) {
    if (signal.aborted) return failure("shutdown", null, null, "abandoned at shutdown; the provider may or may not have accepted it", false);
    if (timeout.aborted) return failure("timeout", null, null, `no reply within ${cfg.timeoutMs} ms; the provider may or may not have accepted it`, false);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return failure("network", null, null, `cannot reach the provider: ${cause?.code ?? cause?.message ?? (err as Error).message}`, true);
  }
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // handled below: a reply without a JSON object
  }
  if (res.ok) {
    if (typeof body?.sid !== "string" || typeof body.status !== "string") return failure("bad_response", res.status, null, "the provider's reply has no sid/status", false);
    return { ok: true, providerId: body.sid, status: body.status, httpStatus: res.status };
  }
  // Twilio's error body: {code, message, more_info, status}.
  const errorCode = typeof body?.code === "number" ? body.code : null;
  const errorMessage = typeof body?.message === "string" ? body.message : `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) return failure("unauthorized", res.status, errorCode, errorMessage, false);
  if (res.status === 429) return failure("rate_limited", res.status, errorCode, errorMessage, true);
  if (res.status >= 500) return failure("provider_error", res.status, errorCode, errorMessage, true);
  return failure("rejected", res.status, errorCode, errorMessage, false);
}

function failure(reason: FailureReason, httpStatus: number | null, errorCode: number | null, errorMessage: string, retryable: boolean): SendResult {
  return { ok: false, reason, httpStatus, errorCode, errorMessage, retryable };
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_REPLY_BYTES) return "";
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
}

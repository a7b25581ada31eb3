import { APIConnectionError as AnthropicConnectionError, APIError as AnthropicApiError } from "@anthropic-ai/sdk";
import { APIConnectionError as OpenAIConnectionError, APIError as OpenAIApiError } from "openai";
import { RpcError, RpcErrorCodes } from "../contract/index.js";
import { boundedData, clipText } from "../util/index.js";

/** Status and headers of a vendor SDK's HTTP error, whichever SDK threw it. */
function httpFailure(err: unknown): { status: number | undefined; headers: Headers | undefined; message: string } | null {
  if (err instanceof OpenAIApiError || err instanceof AnthropicApiError) {
    const headers = (err as { headers?: unknown }).headers;
    return { status: err.status ?? undefined, headers: headers instanceof Headers ? headers : undefined, message: err.message };
  }
  return null;
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms, in ms; undefined when absent. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get("retry-after-ms"));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers.get("retry-after");
  if (!raw) return undefined;
  const secs = Number(raw);
  if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * A provider failure as the contract's -331xx error, once the SDK's own
 * retries are spent: connection and 5xx -33101, 401/403 -33102, other 4xx
 * -33103, 429 -33104 (with `retry_after_ms` when the server said). The message
 * names the provider and status, never the request's headers.
 */
export function toLlmRpcError(provider: string, err: unknown): RpcError {
  if (err instanceof RpcError) return bounded(err);
  if (err instanceof OpenAIConnectionError || err instanceof AnthropicConnectionError) {
    return new RpcError(RpcErrorCodes.LLM_CONNECTION, `LLM provider ${provider} unreachable: ${err.message}`, { provider });
  }
  const http = httpFailure(err);
  if (http && http.status !== undefined) {
    const { status } = http;
    const data: Record<string, unknown> = { provider, status };
    if (status === 401 || status === 403) {
      return new RpcError(RpcErrorCodes.LLM_AUTHENTICATION, `LLM provider ${provider} refused the credentials (HTTP ${status}); check the variable its api_key_env names`, data);
    }
    if (status === 429) {
      const after = retryAfterMs(http.headers);
      if (after !== undefined) data.retry_after_ms = after;
      return new RpcError(RpcErrorCodes.LLM_RATE_LIMITED, `LLM provider ${provider} is rate limiting (HTTP 429) after the configured retries`, data);
    }
    if (status >= 500 || status === 408) {
      return new RpcError(RpcErrorCodes.LLM_CONNECTION, `LLM provider ${provider} failed (HTTP ${status}) after the configured retries`, data);
    }
    return new RpcError(RpcErrorCodes.LLM_INVALID_REQUEST, `LLM provider ${provider} rejected the request (HTTP ${status}): ${http.message}`, data);
  }
  return new RpcError(RpcErrorCodes.LLM_CONNECTION, `LLM provider ${provider} failed: ${(err as Error)?.message ?? String(err)}`, { provider });
}

/** `err` with its message clipped and oversized `data` replaced: a provider plugin's error reply may be a megabyte. */
function bounded(err: RpcError): RpcError {
  const message = clipText(err.message);
  const data = boundedData(err.data);
  return message === err.message && data === err.data ? err : new RpcError(err.code, message, data);
}

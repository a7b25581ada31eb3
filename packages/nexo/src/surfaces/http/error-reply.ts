import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { uuidv7 } from "nexo-plugin-sdk";
import { ErrorCodes, NexoError, type ErrorCode } from "../../errors.js";

/** HTTP status for each error code a request can end with; anything else is a 500. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.WORKFLOW_NOT_FOUND]: 404,
  [ErrorCodes.WORKFLOW_INVALID_INPUT]: 400,
  [ErrorCodes.WORKFLOW_ABORTED]: 503,
  [ErrorCodes.APP_STOPPED]: 503,
  [ErrorCodes.HTTP_BAD_REQUEST]: 400,
  [ErrorCodes.HTTP_NOT_FOUND]: 404,
  [ErrorCodes.HTTP_PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.HTTP_UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.HTTP_JSON_TOO_DEEP]: 400,
  [ErrorCodes.AUTH_UNAUTHENTICATED]: 401,
  [ErrorCodes.AUTH_INVALID_REQUEST]: 400,
  [ErrorCodes.AUTH_UNAVAILABLE]: 503,
  [ErrorCodes.TOOL_DENIED]: 403,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.TOOL_NOT_FOUND]: 404,
  [ErrorCodes.TOOL_INVALID_ARGS]: 400,
  [ErrorCodes.TOOL_UNAVAILABLE]: 503,
  [ErrorCodes.TOOL_TIMEOUT]: 504,
  [ErrorCodes.HOST_PLUGIN_RESTARTED]: 503,
  [ErrorCodes.HOST_PLUGIN_NOT_RUNNING]: 503,
  // tools and MCP (issue 6)
  [ErrorCodes.TOOL_EXECUTION_FAILED]: 502,
  [ErrorCodes.TOOL_PLUGIN_EXITED]: 503,
  [ErrorCodes.MCP_ORIGIN_DENIED]: 403,
  [ErrorCodes.MCP_SESSION_LIMIT]: 503,
  // reverse proxy (src/proxy)
  [ErrorCodes.PROXY_PLUGIN_DOWN]: 502,
  [ErrorCodes.PROXY_UPSTREAM_FAILED]: 502,
  [ErrorCodes.PROXY_NOT_READY]: 503,
  [ErrorCodes.PROXY_TIMEOUT]: 504,
  // runs and idempotency (src/runs)
  [ErrorCodes.RUN_NOT_FOUND]: 404,
  [ErrorCodes.RUN_QUEUE_FULL]: 503,
  [ErrorCodes.RUN_FINISHED]: 409,
  [ErrorCodes.RUN_CANCELLED]: 409,
  [ErrorCodes.WORKFLOW_INTERRUPTED]: 503,
  [ErrorCodes.IDEMPOTENCY_KEY_INVALID]: 400,
  [ErrorCodes.IDEMPOTENCY_KEY_MISMATCH]: 422,
  [ErrorCodes.IDEMPOTENCY_IN_PROGRESS]: 409,
};

/** The HTTP status of an error code, or undefined when it has none of its own (a 500). */
export function statusForCode(code: string): number | undefined {
  return STATUS_BY_CODE[code as ErrorCode];
}

/** The body of every error response: a stable code, a message, and what the caller needs to fix the request. */
export interface ErrorBody {
  error: { code: string; message: string; errorId?: string; violations?: unknown; [key: string]: unknown };
}

/** Fastify's own request errors, translated to ours at the boundary. */
function fromFastify(err: FastifyError): NexoError | undefined {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new NexoError(ErrorCodes.HTTP_PAYLOAD_TOO_LARGE, `request body is larger than the limit of ${err.message.match(/\d+/)?.[0] ?? "the server's"} bytes`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new NexoError(ErrorCodes.HTTP_UNSUPPORTED_MEDIA_TYPE, "send the body as application/json");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new NexoError(ErrorCodes.HTTP_BAD_REQUEST, "the body is empty but Content-Type says application/json; send {} for no inputs");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new NexoError(ErrorCodes.HTTP_BAD_REQUEST, `the body is not valid JSON: ${err.message}`);
  }
  if (err instanceof SyntaxError || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
    return new NexoError(ErrorCodes.HTTP_BAD_REQUEST, err.message, { httpStatus: err.statusCode ?? 400 });
  }
  return undefined;
}

/**
 * Send `err` as JSON. NexoErrors keep their code and message (and the
 * violations of a bad input); anything unexpected becomes a 500 whose body
 * carries only an error id, the full error going to the log under that id.
 */
export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = err instanceof NexoError ? err : fromFastify(err as FastifyError);
  if (known) {
    const status = known.details.httpStatus ?? STATUS_BY_CODE[known.code] ?? 500;
    if (status >= 500 && !STATUS_BY_CODE[known.code]) return sendInternal(err, request, reply);
    const body: ErrorBody = { error: { code: known.code, message: known.message } };
    const data = known.details.data as Record<string, unknown> | undefined;
    if (data && typeof data === "object" && "violations" in data) body.error.violations = data.violations;
    if (data && typeof data === "object" && "retryAfterMs" in data) {
      body.error.retryAfterMs = data.retryAfterMs;
      if (typeof data.retryAfterMs === "number" && !reply.hasHeader("retry-after")) reply.header("retry-after", String(Math.max(1, Math.ceil(data.retryAfterMs / 1000))));
    }
    return reply.code(status).type("application/json").send(body);
  }
  return sendInternal(err, request, reply);
}

function sendInternal(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const errorId = uuidv7();
  request.log.error({ err, errorId, url: request.url, method: request.method }, "request failed");
  const body: ErrorBody = { error: { code: ErrorCodes.HTTP_INTERNAL, message: `internal error; quote error id ${errorId} when reporting it`, errorId } };
  return reply.code(500).type("application/json").send(body);
}

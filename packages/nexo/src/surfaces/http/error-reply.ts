import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { uuidv7 } from "nexo-plugin-sdk/contract";
import { ErrorCodes, NexoError } from "../../errors.js";

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
    if (!known.isPublic) return sendInternal(err, request, reply);
    const status = known.httpStatus;
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

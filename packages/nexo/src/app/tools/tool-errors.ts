import { RpcError, RpcErrorCodes } from "../../contract/index.js";
import { ErrorCodes, NexoError, type ErrorCode, type ToolErrorData } from "../../errors.js";
import type { InputViolation } from "../input-validator.js";
import { errorMessage } from "../../util/index.js";

/** What a caller branches on, in `err.details.data` of every tool error (defined with the catalogue). */
export type { ToolErrorData };

/** A NEXO_ERR_TOOL_* error with `details.data` (ToolErrorData); its contract code and HTTP status come from the catalogue (errors.ts). */
export function toolError(code: ErrorCode, message: string, data: ToolErrorData, cause?: unknown): NexoError {
  return new NexoError(code, message, {
    data,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** NEXO_ERR_TOOL_INVALID_ARGS listing every violation in the message and in `data.violations`. */
export function invalidArgs(tool: string, violations: InputViolation[], cause?: unknown): NexoError {
  const list = violations.map((v) => `${v.path || "/"} ${v.message}`).join("; ");
  return toolError(ErrorCodes.TOOL_INVALID_ARGS, `invalid arguments for tool "${tool}": ${list}`, { tool, violations }, cause);
}

/** Codes a workflow (or its middleware) may throw that keep their meaning when it runs as a tool. */
const PASS_THROUGH = new Set<string>([ErrorCodes.TOOL_DENIED, ErrorCodes.AUTHZ_FORBIDDEN, ErrorCodes.AUTH_UNAUTHENTICATED, ErrorCodes.RATE_LIMITED, ErrorCodes.APP_STOPPED]);

/**
 * Translate whatever a plugin call raised into a tool error (style: codes of
 * a lower layer are translated at the boundary). `retryAfterMs` is the
 * supervisor's hint when the plugin is restarting.
 */
export function fromPluginError(tool: string, err: unknown, retryAfterMs: number | undefined): NexoError {
  if (err instanceof RpcError) return fromRpcError(tool, err);
  if (err instanceof NexoError) {
    if (err.code.startsWith("NEXO_ERR_TOOL_")) return err;
    switch (err.code) {
      case ErrorCodes.HOST_REQUEST_TIMEOUT:
        return toolError(ErrorCodes.TOOL_TIMEOUT, `tool "${tool}" did not answer in time: ${err.message}`, { tool }, err);
      case ErrorCodes.HOST_PLUGIN_RESTARTED: {
        // The supervisor wraps "exited while this call was pending" with the exit as cause; without it the plugin was not ready at call time.
        const exited = err.cause instanceof NexoError && err.cause.code === ErrorCodes.HOST_PLUGIN_EXITED;
        const hint = retryAfterMs ?? 1000;
        return exited
          ? toolError(ErrorCodes.TOOL_PLUGIN_EXITED, `the plugin serving tool "${tool}" exited during the call; retry in ${hint} ms`, { tool, retryAfterMs: hint }, err)
          : toolError(ErrorCodes.TOOL_UNAVAILABLE, `tool "${tool}" is unavailable while its plugin restarts; retry in ${hint} ms`, { tool, retryAfterMs: hint }, err);
      }
      case ErrorCodes.HOST_PLUGIN_NOT_RUNNING:
      case ErrorCodes.HOST_PLUGIN_NOT_FOUND:
        return toolError(ErrorCodes.TOOL_UNAVAILABLE, `tool "${tool}" is unavailable: ${err.message}`, { tool }, err);
      case ErrorCodes.HOST_QUEUE_FULL:
        return toolError(ErrorCodes.TOOL_UNAVAILABLE, `tool "${tool}" is overloaded: ${err.message}`, { tool, retryAfterMs: 100 }, err);
      case ErrorCodes.CONTRACT_FRAME_TOO_LARGE:
      case ErrorCodes.CONTRACT_INVALID_FRAME:
        return invalidArgs(tool, [{ path: "", message: `cannot be sent to the plugin: ${err.message}` }], err);
    }
  }
  return toolError(ErrorCodes.TOOL_EXECUTION_FAILED, `tool "${tool}" failed: ${errorMessage(err)}`, { tool }, err);
}

/** A plugin's error reply (tool.invoke error, or a topic-form `{error}`) by its contract code. */
function fromRpcError(tool: string, err: RpcError): NexoError {
  const data = err.data as Record<string, unknown> | undefined;
  const pluginData = data === undefined ? {} : { pluginData: data };
  switch (err.code) {
    case RpcErrorCodes.TOOL_NOT_FOUND:
      return toolError(ErrorCodes.TOOL_NOT_FOUND, `the plugin does not know tool "${tool}": ${err.message}`, { tool, ...pluginData }, err);
    case RpcErrorCodes.TOOL_INVALID_ARGS: {
      const details = data && typeof data === "object" ? data.details : undefined;
      const violations = Array.isArray(details) && details.every(isViolation) ? details : [{ path: "", message: err.message }];
      return toolError(ErrorCodes.TOOL_INVALID_ARGS, `invalid arguments for tool "${tool}": ${err.message}`, { tool, violations, ...pluginData }, err);
    }
    case RpcErrorCodes.TOOL_UNAVAILABLE: {
      const ms = data && typeof data === "object" ? data.retry_after_ms : undefined;
      const retry = typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? { retryAfterMs: ms } : {};
      return toolError(ErrorCodes.TOOL_UNAVAILABLE, `tool "${tool}" is unavailable: ${err.message}`, { tool, ...retry, ...pluginData }, err);
    }
    case RpcErrorCodes.TOOL_DENIED:
      return toolError(ErrorCodes.TOOL_DENIED, `tool "${tool}" denied the call: ${err.message}`, { tool, ...pluginData }, err);
    case RpcErrorCodes.METHOD_NOT_FOUND:
      return toolError(ErrorCodes.TOOL_EXECUTION_FAILED, `the plugin serving tool "${tool}" has no tool handler (-32601): ${err.message}`, { tool, ...pluginData }, err);
    default:
      return toolError(ErrorCodes.TOOL_EXECUTION_FAILED, `tool "${tool}" failed: ${err.message}`, { tool, ...pluginData }, err);
  }
}

/**
 * Translate what running a workflow as a tool raised. Invalid inputs keep
 * their violations; deliberate NexoErrors keep their message; anything else
 * (a bug in the handler) becomes a failure whose message hides internals —
 * `errorId` names the log line with the details.
 */
export function fromWorkflowError(tool: string, err: unknown, errorId: string): NexoError {
  if (err instanceof NexoError) {
    if (err.code.startsWith("NEXO_ERR_TOOL_") || PASS_THROUGH.has(err.code)) return err;
    if (err.code === ErrorCodes.WORKFLOW_INVALID_INPUT) {
      const v = (err.details.data as { violations?: InputViolation[] } | undefined)?.violations ?? [{ path: "", message: err.message }];
      return invalidArgs(tool, v, err);
    }
    if (err.code === ErrorCodes.WORKFLOW_NOT_FOUND) return toolError(ErrorCodes.TOOL_NOT_FOUND, `no tool named "${tool}"`, { tool }, err);
    return toolError(ErrorCodes.TOOL_EXECUTION_FAILED, `tool "${tool}" failed: ${err.message} [${err.code}]`, { tool }, err);
  }
  return toolError(ErrorCodes.TOOL_EXECUTION_FAILED, `tool "${tool}" failed; quote error id ${errorId} when reporting it`, { tool }, err);
}

function isViolation(v: unknown): v is InputViolation {
  return typeof v === "object" && v !== null && typeof (v as InputViolation).path === "string" && typeof (v as InputViolation).message === "string";
}

/** JSON-RPC and contract error codes the SDK sends or receives. */
export const RpcErrorCodes = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  SHUTDOWN_FAILED: -32000,
  TOOL_NOT_FOUND: -33401,
  TOOL_INVALID_ARGS: -33402,
  TOOL_EXECUTION_FAILED: -33403,
  TOOL_UNAVAILABLE: -33404,
  TOOL_DENIED: -33405,
} as const;

/** An error reply from the host, or one the plugin sends. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

/** Base of the typed tool errors; `onTool` throws one to send its contract code. */
export class ToolError extends RpcError {}
/** -33401: no such tool. */
export class ToolNotFoundError extends ToolError {
  constructor(toolName: string) {
    super(RpcErrorCodes.TOOL_NOT_FOUND, `tool not found: ${toolName}`);
  }
}
/** -33402: arguments do not fit the schema; `details` lists what is wrong. */
export class ToolInvalidArgsError extends ToolError {
  constructor(message: string, details?: unknown) {
    super(RpcErrorCodes.TOOL_INVALID_ARGS, message, details === undefined ? undefined : { details });
  }
}
/** -33403: the tool ran and failed. */
export class ToolExecutionFailedError extends ToolError {
  constructor(message: string, data?: unknown) {
    super(RpcErrorCodes.TOOL_EXECUTION_FAILED, message, data);
  }
}
/** -33404: temporarily unavailable; the caller may retry after `retryAfterMs`. */
export class ToolUnavailableError extends ToolError {
  constructor(message: string, retryAfterMs?: number) {
    super(RpcErrorCodes.TOOL_UNAVAILABLE, message, retryAfterMs === undefined ? undefined : { retry_after_ms: retryAfterMs });
  }
}
/** -33405: the caller may not use this tool. */
export class ToolDeniedError extends ToolError {
  constructor(message: string) {
    super(RpcErrorCodes.TOOL_DENIED, message);
  }
}

/** The host did not answer one of the plugin's own requests (`memory.recall`, `llm.complete`...) within its deadline. */
export class HostCallTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`host did not answer ${method} within ${timeoutMs} ms`);
    this.name = "HostCallTimeoutError";
  }
}

/** The plugin started shutting down while one of its host calls was pending (or before it was sent). */
export class HostCallAbandonedError extends Error {
  constructor(
    readonly method: string,
    reason: string,
  ) {
    super(`${method} abandoned: ${reason}`);
    this.name = "HostCallAbandonedError";
  }
}

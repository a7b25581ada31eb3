import { RpcErrorCodes } from "./codes.js";

/** JSON-RPC and contract error codes (the table the host uses too). */
export { RpcErrorCodes };

/**
 * Base of every error the SDK raises. Each subclass sets `name`, so
 * `err.name === "ManifestError"` works as well as `instanceof`.
 */
export class PluginError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PluginError";
  }
}

/** The manifest TOML is not valid (not TOML, no `[plugin].id`, a bad id, tools outside `[plugin.extends].tools`). `field` names the manifest field when there is one. */
export class ManifestError extends PluginError {
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ManifestError";
    this.field = field;
  }
}

/** A malformed JSON-RPC frame or an over-size line. */
export class WireError extends PluginError {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

/**
 * A failed child-to-host request (`memory.recall`, `llm.complete`,
 * `broker.subscribe`...): base of RpcServerError, RpcTimeoutError,
 * RpcTransportError and RpcDecodeError. Also the base of ToolError, and
 * constructible as `new RpcError(code, message, data?)` for an error reply
 * with a code (older spelling).
 */
export class RpcError extends PluginError {
  /** The JSON-RPC error code: the host's for a server error, the tool code for a ToolError, -32603 otherwise. */
  readonly code: number;
  /** The error reply's `data`, if any. */
  readonly data?: unknown;
  constructor(message: string);
  constructor(code: number, message: string, data?: unknown);
  constructor(codeOrMessage: number | string, message?: string, data?: unknown) {
    super(typeof codeOrMessage === "string" ? codeOrMessage : (message ?? ""));
    this.name = "RpcError";
    this.code = typeof codeOrMessage === "number" ? codeOrMessage : RpcErrorCodes.INTERNAL_ERROR;
    if (data !== undefined) this.data = data;
  }
  /** The `error` object of a JSON-RPC error reply. */
  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

/** The host answered with a JSON-RPC error. `code` is its code (-32603 not configured, -32602 bad params, -32601 not wired); `hostMessage` its message as sent. */
export class RpcServerError extends RpcError {
  readonly hostMessage: string;
  constructor(code: number, message: string, data?: unknown) {
    super(code, `rpc error ${code}: ${message}`, data);
    this.name = "RpcServerError";
    this.hostMessage = message;
  }
  override toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined ? { code: this.code, message: this.hostMessage } : { code: this.code, message: this.hostMessage, data: this.data };
  }
}

/** No reply within the call's deadline (default 30 s). `seconds` is the deadline; `method` the call, when known. A late reply is ignored. */
export class RpcTimeoutError extends RpcError {
  readonly seconds: number;
  readonly timeoutMs: number;
  readonly method: string | undefined;
  constructor(seconds: number, method?: string) {
    super(`no host reply within ${seconds}s${method ? ` (${method})` : ""}`);
    this.name = "RpcTimeoutError";
    this.seconds = seconds;
    this.timeoutMs = seconds * 1000;
    this.method = method;
  }
}

/** The request could not be sent, or its reply was abandoned (the plugin is shutting down, stdout failed). */
export class RpcTransportError extends RpcError {
  readonly method: string | undefined;
  constructor(message: string, method?: string) {
    super(message);
    this.name = "RpcTransportError";
    this.method = method;
  }
}

/** The host's reply does not have the shape the call expects. */
export class RpcDecodeError extends RpcError {
  constructor(message: string) {
    super(message);
    this.name = "RpcDecodeError";
  }
}

/**
 * The host did not answer within its deadline.
 * @deprecated Use RpcTimeoutError (this subclass is what the SDK throws, so both `instanceof` checks hold).
 */
export class HostCallTimeoutError extends RpcTimeoutError {
  constructor(method: string, timeoutMs: number) {
    super(timeoutMs / 1000, method);
    this.name = "RpcTimeoutError";
  }
}

/**
 * The plugin started shutting down while the call was pending (or before it was sent).
 * @deprecated Use RpcTransportError (this subclass is what the SDK throws, so both `instanceof` checks hold).
 */
export class HostCallAbandonedError extends RpcTransportError {
  constructor(method: string, reason: string) {
    super(`${method} abandoned: ${reason}`, method);
    this.name = "RpcTransportError";
  }
}

/**
 * Base of the typed tool failures; a tool handler throws one to answer with
 * its code (-33401..-33405). Anything else a handler throws is -33403.
 */
export class ToolError extends RpcError {
  /** `new ToolError(message)` is a -33403; `new ToolError(code, message, data?)` picks the code. */
  constructor(message: string);
  constructor(code: number, message: string, data?: unknown);
  constructor(codeOrMessage: number | string, message?: string, data?: unknown) {
    if (typeof codeOrMessage === "string") super(RpcErrorCodes.TOOL_EXECUTION_FAILED, codeOrMessage);
    else super(codeOrMessage, message ?? "", data);
    this.name = "ToolError";
  }
  /** The `data` of the error reply, or undefined. */
  errorData(): Record<string, unknown> | undefined {
    return typeof this.data === "object" && this.data !== null && !Array.isArray(this.data) ? (this.data as Record<string, unknown>) : undefined;
  }
}

/** -33401: the plugin does not implement this tool. */
export class ToolNotFoundError extends ToolError {
  readonly toolName: string;
  constructor(toolName: string) {
    super(RpcErrorCodes.TOOL_NOT_FOUND, `tool not found: ${toolName}`);
    this.name = "ToolNotFoundError";
    this.toolName = toolName;
  }
}

/** -33402: the arguments are wrong; `details` (any JSON) travels as `error.data.details`. Message `invalid argument: <message>`. */
export class ToolArgumentInvalidError extends ToolError {
  readonly details: unknown;
  constructor(message: string, details?: unknown) {
    super(RpcErrorCodes.TOOL_INVALID_ARGS, `invalid argument: ${message}`, details === undefined ? undefined : { details });
    this.name = "ToolArgumentInvalidError";
    this.details = details;
  }
}

/**
 * -33402 with the message as given (no prefix).
 * @deprecated Use ToolArgumentInvalidError.
 */
export class ToolInvalidArgsError extends ToolArgumentInvalidError {
  constructor(message: string, details?: unknown) {
    super(message, details);
    this.message = message;
  }
}

/** -33403: the tool ran and failed. Message `execution failed: <message>`; `data` is optional. */
export class ToolExecutionFailedError extends ToolError {
  constructor(message: string, data?: unknown) {
    super(RpcErrorCodes.TOOL_EXECUTION_FAILED, `execution failed: ${message}`, data);
    this.name = "ToolExecutionFailedError";
  }
}

/** -33404: cannot run now; `retryAfterMs` travels as `error.data.retry_after_ms`. Message `unavailable: <message>`. */
export class ToolUnavailableError extends ToolError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(RpcErrorCodes.TOOL_UNAVAILABLE, `unavailable: ${message}`, retryAfterMs === undefined ? undefined : { retry_after_ms: retryAfterMs });
    this.name = "ToolUnavailableError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** -33405: the caller may not use this tool. Message `denied: <message>`. */
export class ToolDeniedError extends ToolError {
  constructor(message: string) {
    super(RpcErrorCodes.TOOL_DENIED, `denied: ${message}`);
    this.name = "ToolDeniedError";
  }
}

/**
 * The nexo error catalogue: every error the daemon raises has a stable code
 * (`NEXO_ERR_<AREA>_<WHAT>`), a message a user can act on, and the fields a
 * caller branches on. Tests assert `code`, never the wording.
 */

/** Stable error codes, grouped by area. Add new codes in the area's block. */
export const ErrorCodes = {
  // broker
  BROKER_INVALID_TOPIC: "NEXO_ERR_BROKER_INVALID_TOPIC",
  BROKER_INVALID_PATTERN: "NEXO_ERR_BROKER_INVALID_PATTERN",
  BROKER_CLOSED: "NEXO_ERR_BROKER_CLOSED",
  BROKER_CONNECT: "NEXO_ERR_BROKER_CONNECT",
  BROKER_PUBLISH_FAILED: "NEXO_ERR_BROKER_PUBLISH_FAILED",
  // contract / framing
  CONTRACT_FRAME_TOO_LARGE: "NEXO_ERR_CONTRACT_FRAME_TOO_LARGE",
  CONTRACT_INVALID_FRAME: "NEXO_ERR_CONTRACT_INVALID_FRAME",
  CONTRACT_INVALID_EVENT: "NEXO_ERR_CONTRACT_INVALID_EVENT",
  CONTRACT_WRITER_CLOSED: "NEXO_ERR_CONTRACT_WRITER_CLOSED",
  // manifest
  MANIFEST_NOT_FOUND: "NEXO_ERR_MANIFEST_NOT_FOUND",
  MANIFEST_PARSE: "NEXO_ERR_MANIFEST_PARSE",
  MANIFEST_INVALID: "NEXO_ERR_MANIFEST_INVALID",
  MANIFEST_VERSION_UNSATISFIED: "NEXO_ERR_MANIFEST_VERSION_UNSATISFIED",
  // host / supervisor
  HOST_SPAWN_FAILED: "NEXO_ERR_HOST_SPAWN_FAILED",
  HOST_INIT_TIMEOUT: "NEXO_ERR_HOST_INIT_TIMEOUT",
  HOST_INIT_FAILED: "NEXO_ERR_HOST_INIT_FAILED",
  HOST_ID_MISMATCH: "NEXO_ERR_HOST_ID_MISMATCH",
  HOST_TOOL_UNDECLARED: "NEXO_ERR_HOST_TOOL_UNDECLARED",
  HOST_PLUGIN_EXITED: "NEXO_ERR_HOST_PLUGIN_EXITED",
  HOST_PLUGIN_RESTARTED: "NEXO_ERR_HOST_PLUGIN_RESTARTED",
  HOST_REQUEST_TIMEOUT: "NEXO_ERR_HOST_REQUEST_TIMEOUT",
  HOST_QUEUE_FULL: "NEXO_ERR_HOST_QUEUE_FULL",
  HOST_TOPIC_DENIED: "NEXO_ERR_HOST_TOPIC_DENIED",
  HOST_PLUGIN_NOT_FOUND: "NEXO_ERR_HOST_PLUGIN_NOT_FOUND",
  HOST_PLUGIN_NOT_RUNNING: "NEXO_ERR_HOST_PLUGIN_NOT_RUNNING",
  HOST_DUPLICATE_PLUGIN: "NEXO_ERR_HOST_DUPLICATE_PLUGIN",
  // config
  CONFIG_PARSE: "NEXO_ERR_CONFIG_PARSE",
  CONFIG_INVALID: "NEXO_ERR_CONFIG_INVALID",
  // control channel / cli
  CONTROL_UNREACHABLE: "NEXO_ERR_CONTROL_UNREACHABLE",
  CONTROL_BAD_REQUEST: "NEXO_ERR_CONTROL_BAD_REQUEST",
  // app / workflows / tools
  WORKFLOW_NOT_FOUND: "NEXO_ERR_WORKFLOW_NOT_FOUND",
  WORKFLOW_DUPLICATE: "NEXO_ERR_WORKFLOW_DUPLICATE",
  WORKFLOW_INVALID_INPUT: "NEXO_ERR_WORKFLOW_INVALID_INPUT",
  WORKFLOW_FAILED: "NEXO_ERR_WORKFLOW_FAILED",
  PLUGIN_DUPLICATE: "NEXO_ERR_PLUGIN_DUPLICATE",
  PLUGIN_NOT_FOUND: "NEXO_ERR_PLUGIN_NOT_FOUND",
  PLUGIN_SETUP_FAILED: "NEXO_ERR_PLUGIN_SETUP_FAILED",
  PLUGIN_HOOK_TIMEOUT: "NEXO_ERR_PLUGIN_HOOK_TIMEOUT",
  WORKFLOW_INVALID_DEFINITION: "NEXO_ERR_WORKFLOW_INVALID_DEFINITION",
  WORKFLOW_ABORTED: "NEXO_ERR_WORKFLOW_ABORTED",
  WORKFLOW_NEXT_CALLED_TWICE: "NEXO_ERR_WORKFLOW_NEXT_CALLED_TWICE",
  PLUGIN_INVALID: "NEXO_ERR_PLUGIN_INVALID",
  APP_STOPPED: "NEXO_ERR_APP_STOPPED",
  HTTP_BAD_REQUEST: "NEXO_ERR_HTTP_BAD_REQUEST",
  HTTP_NOT_FOUND: "NEXO_ERR_HTTP_NOT_FOUND",
  HTTP_PAYLOAD_TOO_LARGE: "NEXO_ERR_HTTP_PAYLOAD_TOO_LARGE",
  HTTP_UNSUPPORTED_MEDIA_TYPE: "NEXO_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE",
  HTTP_INTERNAL: "NEXO_ERR_HTTP_INTERNAL",
  TOOL_NOT_FOUND: "NEXO_ERR_TOOL_NOT_FOUND",
  TOOL_INVALID_ARGS: "NEXO_ERR_TOOL_INVALID_ARGS",
  TOOL_EXECUTION_FAILED: "NEXO_ERR_TOOL_EXECUTION_FAILED",
  TOOL_UNAVAILABLE: "NEXO_ERR_TOOL_UNAVAILABLE",
  TOOL_DENIED: "NEXO_ERR_TOOL_DENIED",
  TOOL_TIMEOUT: "NEXO_ERR_TOOL_TIMEOUT",
  AUTH_UNAUTHENTICATED: "NEXO_ERR_AUTH_UNAUTHENTICATED",
  AUTH_CONFIG: "NEXO_ERR_AUTH_CONFIG",
  RATE_LIMITED: "NEXO_ERR_RATE_LIMITED",
  STORE_CONNECT: "NEXO_ERR_STORE_CONNECT",
  STORE_QUERY: "NEXO_ERR_STORE_QUERY",
  // proxy: http_server capability and reverse proxy (issue 7, pattern 2)
  PROXY_PLUGIN_DOWN: "NEXO_ERR_PROXY_PLUGIN_DOWN",
  PROXY_NOT_READY: "NEXO_ERR_PROXY_NOT_READY",
  PROXY_UPSTREAM_FAILED: "NEXO_ERR_PROXY_UPSTREAM_FAILED",
  PROXY_TIMEOUT: "NEXO_ERR_PROXY_TIMEOUT",
  PROXY_MOUNT_CONFLICT: "NEXO_ERR_PROXY_MOUNT_CONFLICT",
  PROXY_PORT_UNAVAILABLE: "NEXO_ERR_PROXY_PORT_UNAVAILABLE",
  // agent bindings (issue 7, item 9)
  BINDING_INVALID: "NEXO_ERR_BINDING_INVALID",
  BINDING_WORKFLOW_NOT_FOUND: "NEXO_ERR_BINDING_WORKFLOW_NOT_FOUND",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Fields callers branch on; all optional. */
export interface NexoErrorDetails {
  pluginId?: string;
  topic?: string;
  exitCode?: number | null;
  signal?: string | null;
  file?: string;
  field?: string;
  rule?: string;
  httpStatus?: number;
  rpcCode?: number;
  data?: unknown;
  cause?: unknown;
}

/** Base error for everything nexo throws on purpose. */
export class NexoError extends Error {
  readonly code: ErrorCode;
  readonly details: NexoErrorDetails;

  constructor(code: ErrorCode, message: string, details: NexoErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "NexoError";
    this.code = code;
    this.details = details;
  }

  get pluginId(): string | undefined {
    return this.details.pluginId;
  }

  toJSON(): { code: ErrorCode; message: string } & Omit<NexoErrorDetails, "cause"> {
    const { cause: _cause, ...rest } = this.details;
    return { code: this.code, message: this.message, ...rest };
  }
}

/** True when `err` is a NexoError carrying `code`. */
export function isNexoError(err: unknown, code?: ErrorCode): err is NexoError {
  return err instanceof NexoError && (code === undefined || err.code === code);
}

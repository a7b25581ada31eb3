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
  MANIFEST_UNSUPPORTED: "NEXO_ERR_MANIFEST_UNSUPPORTED",
  MANIFEST_UNREADABLE: "NEXO_ERR_MANIFEST_UNREADABLE",
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
  HOST_PLUGIN_NOT_FOUND: "NEXO_ERR_HOST_PLUGIN_NOT_FOUND",
  HOST_PLUGIN_NOT_RUNNING: "NEXO_ERR_HOST_PLUGIN_NOT_RUNNING",
  HOST_DUPLICATE_PLUGIN: "NEXO_ERR_HOST_DUPLICATE_PLUGIN",
  HOST_CHANNEL_KIND_TAKEN: "NEXO_ERR_HOST_CHANNEL_KIND_TAKEN",
  HOST_REQUIREMENT_MISSING: "NEXO_ERR_HOST_REQUIREMENT_MISSING",
  HOST_CONFIG_INVALID: "NEXO_ERR_HOST_CONFIG_INVALID",
  HOST_SANDBOX_UNAVAILABLE: "NEXO_ERR_HOST_SANDBOX_UNAVAILABLE",
  HOST_SANDBOX_REQUIRED: "NEXO_ERR_HOST_SANDBOX_REQUIRED",
  HOST_SANDBOX_DENIED: "NEXO_ERR_HOST_SANDBOX_DENIED",
  HOST_PERMISSION_DENIED: "NEXO_ERR_HOST_PERMISSION_DENIED",
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
  PLUGIN_SETUP_FAILED: "NEXO_ERR_PLUGIN_SETUP_FAILED",
  PLUGIN_HOOK_TIMEOUT: "NEXO_ERR_PLUGIN_HOOK_TIMEOUT",
  WORKFLOW_INVALID_DEFINITION: "NEXO_ERR_WORKFLOW_INVALID_DEFINITION",
  WORKFLOW_ABORTED: "NEXO_ERR_WORKFLOW_ABORTED",
  WORKFLOW_INTERRUPTED: "NEXO_ERR_WORKFLOW_INTERRUPTED",
  WORKFLOW_NEXT_CALLED_TWICE: "NEXO_ERR_WORKFLOW_NEXT_CALLED_TWICE",
  PLUGIN_INVALID: "NEXO_ERR_PLUGIN_INVALID",
  APP_STOPPED: "NEXO_ERR_APP_STOPPED",
  HTTP_BAD_REQUEST: "NEXO_ERR_HTTP_BAD_REQUEST",
  HTTP_NOT_FOUND: "NEXO_ERR_HTTP_NOT_FOUND",
  HTTP_PAYLOAD_TOO_LARGE: "NEXO_ERR_HTTP_PAYLOAD_TOO_LARGE",
  HTTP_UNSUPPORTED_MEDIA_TYPE: "NEXO_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE",
  HTTP_JSON_TOO_DEEP: "NEXO_ERR_HTTP_JSON_TOO_DEEP",
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
  // packaging (nexo plugin pack / install)
  PACKAGE_INVALID: "NEXO_ERR_PACKAGE_INVALID",
  PACKAGE_CHECKSUM: "NEXO_ERR_PACKAGE_CHECKSUM",
  PACKAGE_EXISTS: "NEXO_ERR_PACKAGE_EXISTS",
  PACKAGE_TOO_LARGE: "NEXO_ERR_PACKAGE_TOO_LARGE",
  PACKAGE_NOT_FOUND: "NEXO_ERR_PACKAGE_NOT_FOUND",
  PACKAGE_NOT_PORTABLE: "NEXO_ERR_PACKAGE_NOT_PORTABLE",
  PACKAGE_TARGET: "NEXO_ERR_PACKAGE_TARGET",
  PACKAGE_SIGNATURE: "NEXO_ERR_PACKAGE_SIGNATURE",
  PACKAGE_UNTRUSTED: "NEXO_ERR_PACKAGE_UNTRUSTED",
  PACKAGE_TRUST_CONFIG: "NEXO_ERR_PACKAGE_TRUST_CONFIG",
  // conformance kit and plugin scaffolding (nexo plugin test / nexo plugin new)
  CONFORMANCE_INVALID_VECTOR: "NEXO_ERR_CONFORMANCE_INVALID_VECTOR",
  CONFORMANCE_INVALID_OPTIONS: "NEXO_ERR_CONFORMANCE_INVALID_OPTIONS",
  SCAFFOLD_INVALID_ID: "NEXO_ERR_SCAFFOLD_INVALID_ID",
  SCAFFOLD_UNKNOWN_LANG: "NEXO_ERR_SCAFFOLD_UNKNOWN_LANG",
  SCAFFOLD_TARGET_EXISTS: "NEXO_ERR_SCAFFOLD_TARGET_EXISTS",
  SCAFFOLD_TEMPLATE_MISSING: "NEXO_ERR_SCAFFOLD_TEMPLATE_MISSING",
  SCAFFOLD_BUILD_FAILED: "NEXO_ERR_SCAFFOLD_BUILD_FAILED",
  // store (persistence: SQLite / PostgreSQL)
  STORE_INVALID_URL: "NEXO_ERR_STORE_INVALID_URL",
  STORE_MIGRATION: "NEXO_ERR_STORE_MIGRATION",
  STORE_CLOSED: "NEXO_ERR_STORE_CLOSED",
  // pollers (YAML-only pollers)
  POLLER_NOT_FOUND: "NEXO_ERR_POLLER_NOT_FOUND",
  POLLER_DISABLED: "NEXO_ERR_POLLER_DISABLED",
  POLLER_BUSY: "NEXO_ERR_POLLER_BUSY",
  POLLER_INVALID_CONFIG: "NEXO_ERR_POLLER_INVALID_CONFIG",
  POLLER_PRIVATE_NETWORK: "NEXO_ERR_POLLER_PRIVATE_NETWORK",
  POLLER_FETCH_FAILED: "NEXO_ERR_POLLER_FETCH_FAILED",
  POLLER_TIMEOUT: "NEXO_ERR_POLLER_TIMEOUT",
  POLLER_HTTP_STATUS: "NEXO_ERR_POLLER_HTTP_STATUS",
  POLLER_BODY_TOO_LARGE: "NEXO_ERR_POLLER_BODY_TOO_LARGE",
  POLLER_PARSE: "NEXO_ERR_POLLER_PARSE",
  POLLER_DELIVERY_FAILED: "NEXO_ERR_POLLER_DELIVERY_FAILED",
  // built-in in-process plugins (auth, monitoring, rate limit, logger, metrics, webhook, caching)
  PLUGIN_CONFIG_INVALID: "NEXO_ERR_PLUGIN_CONFIG_INVALID",
  AUTH_INVALID_REQUEST: "NEXO_ERR_AUTH_INVALID_REQUEST",
  AUTH_UNAVAILABLE: "NEXO_ERR_AUTH_UNAVAILABLE",
  // tools registry and MCP surface (docs/adr/0007-tool-names-and-wires.md)
  TOOL_PLUGIN_EXITED: "NEXO_ERR_TOOL_PLUGIN_EXITED",
  TOOL_NAME_CONFLICT: "NEXO_ERR_TOOL_NAME_CONFLICT",
  TOOL_INVALID_SCHEMA: "NEXO_ERR_TOOL_INVALID_SCHEMA",
  MCP_ORIGIN_DENIED: "NEXO_ERR_MCP_ORIGIN_DENIED",
  MCP_SESSION_LIMIT: "NEXO_ERR_MCP_SESSION_LIMIT",
  MCP_SESSION_NOT_FOUND: "NEXO_ERR_MCP_SESSION_NOT_FOUND",
  MCP_SESSION_REQUIRED: "NEXO_ERR_MCP_SESSION_REQUIRED",
  // proxy: http_server capability and reverse proxy (docs/adr/0008-plugin-reverse-proxy.md)
  PROXY_PLUGIN_DOWN: "NEXO_ERR_PROXY_PLUGIN_DOWN",
  PROXY_NOT_READY: "NEXO_ERR_PROXY_NOT_READY",
  PROXY_UPSTREAM_FAILED: "NEXO_ERR_PROXY_UPSTREAM_FAILED",
  PROXY_TIMEOUT: "NEXO_ERR_PROXY_TIMEOUT",
  PROXY_MOUNT_CONFLICT: "NEXO_ERR_PROXY_MOUNT_CONFLICT",
  PROXY_PORT_UNAVAILABLE: "NEXO_ERR_PROXY_PORT_UNAVAILABLE",
  // agent bindings (docs/adr/0009-agent-bindings.md)
  BINDING_INVALID: "NEXO_ERR_BINDING_INVALID",
  BINDING_WORKFLOW_NOT_FOUND: "NEXO_ERR_BINDING_WORKFLOW_NOT_FOUND",
  // authorization gate (docs/authorization.md)
  AUTHZ_FORBIDDEN: "NEXO_ERR_AUTHZ_FORBIDDEN",
  AUTHZ_CONFIG: "NEXO_ERR_AUTHZ_CONFIG",
  // channels served by plugins (channel.start / stop / send_outbound) and hook points
  CHANNEL_NOT_FOUND: "NEXO_ERR_CHANNEL_NOT_FOUND",
  CHANNEL_INVALID_MESSAGE: "NEXO_ERR_CHANNEL_INVALID_MESSAGE",
  CHANNEL_CONNECTION: "NEXO_ERR_CHANNEL_CONNECTION",
  CHANNEL_AUTHENTICATION: "NEXO_ERR_CHANNEL_AUTHENTICATION",
  CHANNEL_RECIPIENT_INVALID: "NEXO_ERR_CHANNEL_RECIPIENT_INVALID",
  CHANNEL_RATE_LIMITED: "NEXO_ERR_CHANNEL_RATE_LIMITED",
  CHANNEL_UNSUPPORTED: "NEXO_ERR_CHANNEL_UNSUPPORTED",
  CHANNEL_UNAVAILABLE: "NEXO_ERR_CHANNEL_UNAVAILABLE",
  CHANNEL_TIMEOUT: "NEXO_ERR_CHANNEL_TIMEOUT",
  CHANNEL_SEND_FAILED: "NEXO_ERR_CHANNEL_SEND_FAILED",
  HOOK_BLOCKED: "NEXO_ERR_HOOK_BLOCKED",
  HOOK_INVALID: "NEXO_ERR_HOOK_INVALID",
  // agents, LLM provider plugins and memory backend plugins
  LLM_PROVIDER_CONFLICT: "NEXO_ERR_LLM_PROVIDER_CONFLICT",
  MEMORY_BACKEND_CONFLICT: "NEXO_ERR_MEMORY_BACKEND_CONFLICT",
  MEMORY_BACKEND_UNAVAILABLE: "NEXO_ERR_MEMORY_BACKEND_UNAVAILABLE",
  AGENT_INVALID: "NEXO_ERR_AGENT_INVALID",
  AGENT_STEP_LIMIT: "NEXO_ERR_AGENT_STEP_LIMIT",
  AGENT_INPUT_TOO_LARGE: "NEXO_ERR_AGENT_INPUT_TOO_LARGE",
  // runs, idempotency and schedules
  RUN_NOT_FOUND: "NEXO_ERR_RUN_NOT_FOUND",
  RUN_QUEUE_FULL: "NEXO_ERR_RUN_QUEUE_FULL",
  RUN_FINISHED: "NEXO_ERR_RUN_FINISHED",
  RUN_CANCELLED: "NEXO_ERR_RUN_CANCELLED",
  RUNS_NOT_ATTACHED: "NEXO_ERR_RUNS_NOT_ATTACHED",
  RUN_STREAM_LIMIT: "NEXO_ERR_RUN_STREAM_LIMIT",
  IDEMPOTENCY_KEY_INVALID: "NEXO_ERR_IDEMPOTENCY_KEY_INVALID",
  IDEMPOTENCY_KEY_MISMATCH: "NEXO_ERR_IDEMPOTENCY_KEY_MISMATCH",
  IDEMPOTENCY_IN_PROGRESS: "NEXO_ERR_IDEMPOTENCY_IN_PROGRESS",
  IDEMPOTENCY_RUN_EXPIRED: "NEXO_ERR_IDEMPOTENCY_RUN_EXPIRED",
  SCHEDULE_INVALID: "NEXO_ERR_SCHEDULE_INVALID",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** How an error leaves the daemon: the HTTP status of a reply that ends with it, and its contract code where it has one. */
export interface ErrorWire {
  readonly status: number;
  /** JSON-RPC error code from the contract's bands (the -334xx tool band: RpcErrorCodes in contract/rpc-errors.ts). */
  readonly rpc?: number;
}

/**
 * The catalogue's wire columns: one row for each code a request may end with,
 * the only place an error's HTTP status and contract code are decided (code and
 * status kept together, as fastify's lib/errors.js does). A code without a row
 * is an internal failure: HTTP 500, its message kept out of the reply.
 */
const WIRE: Partial<Record<ErrorCode, ErrorWire>> = {
  [ErrorCodes.WORKFLOW_NOT_FOUND]: { status: 404 },
  [ErrorCodes.WORKFLOW_INVALID_INPUT]: { status: 400 },
  [ErrorCodes.WORKFLOW_ABORTED]: { status: 503 },
  [ErrorCodes.APP_STOPPED]: { status: 503 },
  [ErrorCodes.HTTP_BAD_REQUEST]: { status: 400 },
  [ErrorCodes.HTTP_NOT_FOUND]: { status: 404 },
  [ErrorCodes.HTTP_PAYLOAD_TOO_LARGE]: { status: 413 },
  [ErrorCodes.HTTP_UNSUPPORTED_MEDIA_TYPE]: { status: 415 },
  [ErrorCodes.HTTP_JSON_TOO_DEEP]: { status: 400 },
  [ErrorCodes.AUTH_UNAUTHENTICATED]: { status: 401 },
  [ErrorCodes.AUTH_INVALID_REQUEST]: { status: 400 },
  [ErrorCodes.AUTH_UNAVAILABLE]: { status: 503 },
  [ErrorCodes.RATE_LIMITED]: { status: 429 },
  [ErrorCodes.HOST_PLUGIN_RESTARTED]: { status: 503 },
  [ErrorCodes.HOST_PLUGIN_NOT_RUNNING]: { status: 503 },
  [ErrorCodes.TOOL_NOT_FOUND]: { status: 404, rpc: -33401 },
  [ErrorCodes.TOOL_INVALID_ARGS]: { status: 400, rpc: -33402 },
  [ErrorCodes.TOOL_EXECUTION_FAILED]: { status: 502, rpc: -33403 },
  [ErrorCodes.TOOL_UNAVAILABLE]: { status: 503, rpc: -33404 },
  [ErrorCodes.TOOL_PLUGIN_EXITED]: { status: 503, rpc: -33404 },
  [ErrorCodes.TOOL_DENIED]: { status: 403, rpc: -33405 },
  // Not a contract condition: the host gave up waiting. -33403 is what a plugin-side deadline would say.
  [ErrorCodes.TOOL_TIMEOUT]: { status: 504, rpc: -33403 },
  [ErrorCodes.MCP_ORIGIN_DENIED]: { status: 403 },
  [ErrorCodes.MCP_SESSION_LIMIT]: { status: 503 },
  // The MCP Streamable HTTP transport's own answers: the client re-initializes on 404 + -32001.
  [ErrorCodes.MCP_SESSION_NOT_FOUND]: { status: 404, rpc: -32001 },
  [ErrorCodes.MCP_SESSION_REQUIRED]: { status: 400, rpc: -32000 },
  [ErrorCodes.PROXY_PLUGIN_DOWN]: { status: 502 },
  [ErrorCodes.PROXY_UPSTREAM_FAILED]: { status: 502 },
  [ErrorCodes.PROXY_NOT_READY]: { status: 503 },
  [ErrorCodes.PROXY_TIMEOUT]: { status: 504 },
  [ErrorCodes.AUTHZ_FORBIDDEN]: { status: 403 },
  [ErrorCodes.RUN_NOT_FOUND]: { status: 404 },
  [ErrorCodes.RUN_QUEUE_FULL]: { status: 503 },
  [ErrorCodes.RUN_FINISHED]: { status: 409 },
  [ErrorCodes.RUN_CANCELLED]: { status: 409 },
  [ErrorCodes.RUNS_NOT_ATTACHED]: { status: 501 },
  [ErrorCodes.RUN_STREAM_LIMIT]: { status: 503 },
  [ErrorCodes.WORKFLOW_INTERRUPTED]: { status: 503 },
  [ErrorCodes.IDEMPOTENCY_KEY_INVALID]: { status: 400 },
  [ErrorCodes.IDEMPOTENCY_KEY_MISMATCH]: { status: 422 },
  [ErrorCodes.IDEMPOTENCY_IN_PROGRESS]: { status: 409 },
  [ErrorCodes.IDEMPOTENCY_RUN_EXPIRED]: { status: 410 },
  [ErrorCodes.CHANNEL_NOT_FOUND]: { status: 404 },
  [ErrorCodes.CHANNEL_INVALID_MESSAGE]: { status: 400 },
  [ErrorCodes.CHANNEL_RATE_LIMITED]: { status: 429, rpc: -33004 },
  [ErrorCodes.CHANNEL_RECIPIENT_INVALID]: { status: 400, rpc: -33003 },
  [ErrorCodes.CHANNEL_UNSUPPORTED]: { status: 501, rpc: -33005 },
  [ErrorCodes.CHANNEL_UNAVAILABLE]: { status: 503 },
  [ErrorCodes.CHANNEL_TIMEOUT]: { status: 504 },
};

/** The catalogue's wire row for `code`: its HTTP status and contract code, or undefined for an internal failure. */
export function errorWire(code: ErrorCode): ErrorWire | undefined {
  // Own rows only: a code that came over the wire ("constructor") must not find Object.prototype's members.
  return Object.hasOwn(WIRE, code) ? WIRE[code] : undefined;
}

/** One broken rule in a value the caller sent; `path` is a JSON Pointer ("" = the whole value). The one shape every validator reports. */
export interface Violation {
  path: string;
  message: string;
}

/** How a violation reads in a message, a log line or the CLI: `<path>: <message>` ("/" for the whole value). */
export function violationLine(v: Violation): string {
  return `${v.path || "/"}: ${v.message}`;
}

/** `details.data` of the configuration families (nexo.yaml, pollers, bindings, a plugin's config): every broken rule, when the value was checked. */
export interface ConfigErrorData {
  violations?: Violation[];
}

/** `details.data` of the tool family: what a caller branches on. */
export interface ToolErrorData {
  tool: string;
  /** Every broken rule of the arguments (NEXO_ERR_TOOL_INVALID_ARGS). */
  violations?: Violation[];
  /** When to try again (NEXO_ERR_TOOL_UNAVAILABLE, NEXO_ERR_TOOL_PLUGIN_EXITED). */
  retryAfterMs?: number;
  /** The plugin's own error `data`, when it sent one. */
  pluginData?: unknown;
  /** The nesting limit the arguments broke, when that was the problem. */
  maxDepth?: number;
}

/** `details.data` of NEXO_ERR_AUTHZ_FORBIDDEN: who was refused what, and the deciding rule (`default` when none matched). */
export interface AuthorizationErrorData {
  principal: string;
  kind: "workflow" | "tool" | "admin";
  name: string;
  rule: string;
}

/** `details.data` of the workflow family. */
export interface WorkflowErrorData {
  workflow: string;
  /** Every broken rule of the inputs (NEXO_ERR_WORKFLOW_INVALID_INPUT). */
  violations?: Violation[];
}

/** `details.data` of refusals that say when to come back (429 and 503 replies carry it as Retry-After). */
export interface RetryErrorData {
  retryAfterMs: number;
}

/** `details.data` of store failures: the driver's own code (SQLSTATE, SQLITE_*), for telling causes apart. */
export interface StoreErrorData {
  driverCode?: string;
}

/**
 * The type of `details.data` per code, for the codes whose data callers read.
 * `isNexoError(err, code)` narrows to it; a code not listed has `unknown` data.
 */
export interface ErrorDataByCode {
  [ErrorCodes.WORKFLOW_NOT_FOUND]: WorkflowErrorData;
  [ErrorCodes.WORKFLOW_INVALID_INPUT]: WorkflowErrorData & { violations: Violation[] };
  [ErrorCodes.TOOL_NOT_FOUND]: ToolErrorData;
  [ErrorCodes.TOOL_INVALID_ARGS]: ToolErrorData;
  [ErrorCodes.TOOL_EXECUTION_FAILED]: ToolErrorData;
  [ErrorCodes.TOOL_UNAVAILABLE]: ToolErrorData;
  [ErrorCodes.TOOL_PLUGIN_EXITED]: ToolErrorData;
  [ErrorCodes.TOOL_DENIED]: ToolErrorData;
  [ErrorCodes.TOOL_TIMEOUT]: ToolErrorData;
  [ErrorCodes.RATE_LIMITED]: RetryErrorData;
  [ErrorCodes.AUTHZ_FORBIDDEN]: AuthorizationErrorData;
  [ErrorCodes.MCP_SESSION_LIMIT]: RetryErrorData;
  [ErrorCodes.STORE_QUERY]: StoreErrorData;
  [ErrorCodes.STORE_CONNECT]: StoreErrorData;
  [ErrorCodes.CONFIG_INVALID]: ConfigErrorData;
  [ErrorCodes.BINDING_INVALID]: ConfigErrorData;
  [ErrorCodes.HOST_CONFIG_INVALID]: ConfigErrorData;
}

/** The `details.data` type of code `C` (`unknown` for codes without typed data, and for the union of all codes). */
export type ErrorData<C extends ErrorCode> = C extends keyof ErrorDataByCode ? ErrorDataByCode[C] : unknown;

/** Fields callers branch on; all optional. */
export interface NexoErrorDetails<D = unknown> {
  pluginId?: string;
  topic?: string;
  exitCode?: number | null;
  signal?: string | null;
  file?: string;
  field?: string;
  rule?: string;
  /** Only where the status is not the catalogue's (a framework's own 4xx); otherwise read `NexoError.httpStatus`. */
  httpStatus?: number;
  /** The contract code; set from the catalogue when the code has one and the caller gave none. */
  rpcCode?: number;
  data?: D;
  cause?: unknown;
}

/** Base error for everything nexo throws on purpose. */
export class NexoError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: NexoErrorDetails<ErrorData<C>>;

  constructor(code: C, message: string, details: NexoErrorDetails<ErrorData<C>> = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "NexoError";
    this.code = code;
    const rpc = errorWire(code)?.rpc;
    this.details = rpc !== undefined && details.rpcCode === undefined ? { ...details, rpcCode: rpc } : details;
  }

  get pluginId(): string | undefined {
    return this.details.pluginId;
  }

  /** The HTTP status a reply ending with this error carries: the catalogue's, or 500 for a code it does not list. */
  get httpStatus(): number {
    return this.details.httpStatus ?? errorWire(this.code)?.status ?? 500;
  }

  /** True when the catalogue lists the code (or it carries a framework's 4xx), so its message may be shown to the client. */
  get isPublic(): boolean {
    return errorWire(this.code) !== undefined || (this.details.httpStatus !== undefined && this.details.httpStatus < 500);
  }

  toJSON(): { code: C; message: string } & Omit<NexoErrorDetails<ErrorData<C>>, "cause"> {
    const { cause: _cause, ...rest } = this.details;
    return { code: this.code, message: this.message, ...rest };
  }
}

/** True when `err` is a NexoError carrying `code` (its `details.data` then has that code's type). */
export function isNexoError<C extends ErrorCode>(err: unknown, code: C): err is NexoError<C>;
export function isNexoError(err: unknown): err is NexoError;
export function isNexoError(err: unknown, code?: ErrorCode): err is NexoError {
  return err instanceof NexoError && (code === undefined || err.code === code);
}

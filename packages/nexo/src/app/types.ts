import type { AuthorizationConfig } from "../authz/index.js";
import type { LlmConfig } from "../llm/index.js";
import type { Broker } from "../broker/index.js";
import type { SandboxOperatorConfig } from "../host/sandbox/index.js";
import type { HostTimeouts } from "../host/index.js";
import type { Logger } from "../log/index.js";
import type { ON_ABORTABLE } from "./abort-hook.js";
import type { Nexo } from "./nexo.js";
import type { HttpConventionsOptions } from "../surfaces/http/index.js";

/** Options of `new Nexo(...)`; every field has a default. */
export interface NexoOptions {
  /** Port of the HTTP API. Default 8000; 0 picks a free port (read it back from `app.port`). */
  apiPort?: number;
  /** Interface the HTTP API binds. Default "127.0.0.1" (loopback only). */
  apiHost?: string;
  /** Event bus. Default: a new LocalBroker, closed by `stop()`; a broker passed in is left open. */
  broker?: Broker;
  /** Root logger. Default: `createLogger()`. */
  logger?: Logger;
  /** Deadline for each hook, teardown and health call, in ms. Default 5000. */
  hookTimeoutMs?: number;
  /** How long `stop()` waits for in-flight workflow executions before aborting them, in ms. Default 10000. */
  drainTimeoutMs?: number;
  /** Listen on `apiHost:apiPort` at start. Default true; with false `app.http` still exists (inject only). */
  http?: boolean;
  /** Async workflow-hook calls still running before new ones are dropped (counted, logged). Default 10000. */
  maxPendingHooks?: number;
  /** Root of state on disk: subprocess plugins get `<stateDir>/plugins/<key>/`. Default ".nexo-state". */
  stateDir?: string;
  /** Largest HTTP request body accepted, in bytes (413 above). Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Browser origins (`https://app.example.com`, scheme and host, port if not the
   * default) allowed to call `/mcp` besides loopback origins and the API's own
   * host. Default none: the DNS-rebinding defence of the MCP transport.
   */
  mcpAllowedOrigins?: string[];
  /** Subprocess plugin deadlines (initialize, tool calls, shutdown grace). Default: docs/contract.md's. */
  pluginTimeouts?: Partial<HostTimeouts>;
  /** How subprocess plugins are contained (nexo.yaml `sandbox:`). Default: each manifest's own sandbox, no limits. */
  pluginSandbox?: SandboxOperatorConfig;
  /**
   * The app's store URL (`sqlite:<file>` or `postgres://...`; nexo.yaml `store:`), used by
   * features that persist (the DatabasePlugin unless it names its own). Default: none, each
   * feature falls back to `sqlite:<stateDir>/nexo.db`.
   */
  store?: string;
  /**
   * LLM providers (nexo.yaml `llm:`) behind `app.llm` and the plugins' `llm.complete`.
   * Default none: `llm.complete` answers -32603 "not configured".
   */
  llm?: LlmConfig;
  /**
   * Who may run which workflow and call which tool, checked on every surface
   * (nexo.yaml `authorization:`, docs/authorization.md). Default none: every
   * caller that passed authentication may run everything.
   */
  authorization?: AuthorizationConfig;
  /** Register the built-in `memory_remember` tool (a workflow over `app.memory.remember`). Default false. */
  memoryRememberTool?: boolean;
  /** A memory backend plugin's name used by `app.memory` and `memory.recall` instead of the embedded store (nexo.yaml `memory.backend`). Default: the embedded store. */
  memoryBackend?: string;
  /** CORS and security headers of the HTTP API (nexo.yaml `api.cors`, `api.security_headers`). Default: no CORS, security headers on. */
  httpConventions?: HttpConventionsOptions;
}

/** The same options with every default applied. */
export type ResolvedNexoOptions = Required<
  Omit<NexoOptions, "broker" | "logger" | "pluginTimeouts" | "pluginSandbox" | "store" | "llm" | "memoryRememberTool" | "authorization" | "memoryBackend" | "httpConventions">
> &
  Pick<NexoOptions, "store">;

/** Who made a call: set by an auth hook (`request.principal`) or by the caller. */
export interface Principal {
  /** Stable subject identifier (JWT `sub`, API key id, ...). */
  id: string;
  /** How it was authenticated: `oauth2`, `jwt`, `api_key`, ... */
  strategy?: string;
  /** Claims or attributes the authenticator exposes. */
  claims?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Workflow inputs: always a JSON object. */
export type WorkflowInputs = Record<string, unknown>;

/** What a workflow handler receives besides its inputs. */
export interface WorkflowContext {
  /** UUID v7 of this execution. */
  workflowId: string;
  workflowName: string;
  sessionId: string | null;
  /** Surface the call came from: `http`, `cli`, `mcp`, `local` (direct call), ... */
  channel: string;
  principal?: Principal;
  /** Request headers when the surface has them (lower-case names). */
  headers?: Record<string, string | string[] | undefined>;
  /** Aborted when the caller goes away or `stop()` gives up draining. */
  signal: AbortSignal;
  app: Nexo;
  /** Logger bound to this execution (`workflowId`, `workflow`). */
  logger: Logger;
  /**
   * Report progress to the caller: an SSE `progress` event, an MCP progress
   * notification (a number is its `progress`; `{progress, total?, message?}` is
   * read as such), a `workflow.<name>.progress` broker event. Never blocks; a
   * slow caller loses events (counted), never the run.
   * @example ctx.progress({ progress: 3, total: 10, message: "page 3" });
   */
  progress(value: unknown): void;
  /** Send a chunk of partial output to the caller (SSE `chunk` event, MCP progress message, broker event); same rules as `progress`. */
  emit(chunk: unknown): void;
}

/** One streamed item of an execution, as `onProgress` receives it. */
export interface ProgressEvent {
  /** `progress` (ctx.progress) or `chunk` (ctx.emit). */
  kind: "progress" | "chunk";
  /** 1, 2, ... within the execution. */
  seq: number;
  value: unknown;
}

/** A workflow: a named async function of its inputs. */
export type WorkflowHandler<I extends WorkflowInputs = WorkflowInputs, R = unknown> = (inputs: I, ctx: WorkflowContext) => R | Promise<R>;

/** Options of `app.register(...)`. */
export interface RegisterWorkflowOptions {
  /** JSON Schema (draft-07 / 2019-09 style) the inputs must satisfy. Default: any object. */
  inputSchema?: Record<string, unknown>;
  /** Human description for `/workflows`, OpenAPI and MCP. Default "". */
  description?: string;
}

/** A registered workflow as listed by `app.listWorkflows()`. */
export interface WorkflowInfo {
  name: string;
  description: string;
  inputSchema: Record<string, unknown> | null;
  /** Plugin that registered it, or null when the app did. */
  owner: string | null;
}

/** Options of `app.executeWorkflow(...)`. */
export interface ExecuteWorkflowOptions {
  /** Default "local". */
  channel?: string;
  /** Default null. */
  sessionId?: string | null;
  principal?: Principal;
  headers?: Record<string, string | string[] | undefined>;
  /** Abort this execution (e.g. the HTTP client went away). */
  signal?: AbortSignal;
  /** Package-internal (the key is not exported by the package): see abort-hook.ts. */
  [ON_ABORTABLE]?: (abort: (reason?: unknown) => void) => void;
  /** Receives each `ctx.progress` / `ctx.emit` of this execution, synchronously (keep it cheap). Default: none. */
  onProgress?: (event: ProgressEvent) => void;
  /** Use this id as the execution's `workflowId` (a run's id). Default: a new UUID v7. */
  workflowId?: string;
}

/** What a middleware sees: mutable `inputs` (validated after the chain), the execution's context. */
export interface WorkflowCall {
  workflowName: string;
  inputs: WorkflowInputs;
  context: WorkflowContext;
}

/** Wraps execution like koa/hono: call `next()` at most once to run the rest of the chain. */
export type WorkflowMiddleware = (call: WorkflowCall, next: () => Promise<unknown>) => unknown | Promise<unknown>;

/** Fields shared by the three workflow lifecycle events. */
export interface WorkflowEventBase {
  workflowId: string;
  workflowName: string;
  sessionId: string | null;
  channel: string;
  inputs: WorkflowInputs;
  /** When the execution started, RFC 3339 UTC. */
  timestamp: string;
}

/** Emitted before the handler runs. */
export type WorkflowStartedEvent = WorkflowEventBase;

/** Emitted when the handler returned. `duration` is in seconds. */
export interface WorkflowCompletedEvent extends WorkflowEventBase {
  result: unknown;
  duration: number;
}

/** Emitted when the handler threw or was aborted. `duration` is in seconds. */
export interface WorkflowFailedEvent extends WorkflowEventBase {
  error: { code: string; message: string };
  duration: number;
}

/** A workflow lifecycle hook; may be async (its result is never awaited by the workflow). */
export type WorkflowHook<E> = (event: E) => void | Promise<void>;
/** A startup or shutdown hook; awaited in registration order, each with a deadline. */
export type LifecycleHook = () => void | Promise<void>;
/** Removes the hook it was returned for. Idempotent. */
export type Unsubscribe = () => void;

/** "ok" serves, "degraded" serves with a problem, "failed" makes `/health` answer 503. */
export type HealthStatus = "ok" | "degraded" | "failed";

/** One plugin's status, whatever its kind. */
export interface PluginStatusEntry {
  name: string;
  version: string;
  /** `in-process` for NexusPlugins; services report their own (e.g. `subprocess`). */
  kind: string;
  /** Kind-specific state: `setting-up`, `ready`, `failed`, `stopped` for in-process plugins. */
  state: string;
  health: HealthStatus;
  error?: string;
  /** Extra kind-specific fields (pid, restarts, ...). */
  details?: Record<string, unknown>;
}

/** What a service reports to `/health`. */
export interface ServiceHealth {
  status: HealthStatus;
  message?: string;
  /** Service-specific figures for `/health` (e.g. each agent binding's counters). */
  details?: Record<string, unknown>;
  /** Plugins this service runs (the subprocess plugin host reports its children here). */
  plugins?: PluginStatusEntry[];
}

/**
 * Something with a lifetime bound to the app's: started in registration order
 * at `start()` (before HTTP opens), stopped in reverse at `stop()`.
 */
export interface NexoService {
  name: string;
  /**
   * "plugins": start after subprocess plugins are up (their subscriptions exist)
   * and stop before they are asked to shut down — for services that feed the
   * broker, like the pollers. Default: start before them and stop after.
   */
  after?: "plugins";
  start(app: Nexo): void | Promise<void>;
  stop(app: Nexo): void | Promise<void>;
  /** Reported by `/health` and `app.pluginStatuses()`; called with a deadline. */
  health?(): ServiceHealth | Promise<ServiceHealth>;
}

/** `/health` body. */
export interface AppHealth {
  status: HealthStatus;
  state: AppState;
  version: string;
  uptimeSeconds: number;
  plugins: PluginStatusEntry[];
  services: Array<{ name: string } & ServiceHealth>;
}

/** Where the app is in its life. */
export type AppState = "created" | "starting" | "running" | "stopping" | "stopped";

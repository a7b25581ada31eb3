import { resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { nowIso } from "nexo-plugin-sdk/contract";
import { AuditLog, AuthorizationGate, compileAuthorization, type ActionKind } from "../authz/index.js";
import { LocalBroker, type Broker } from "../broker/index.js";
import { ChannelService, PluginExtensions } from "../channels/index.js";
import { beforeToolCall, HookNames, HookPoints, isHookName, type HookName, type InProcessHook } from "./hooks/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { PluginHost } from "../host/index.js";
import { createLogger, type Logger } from "../log/index.js";
import { attachLlmProviderPlugins, LlmService } from "../llm/index.js";
import { attachMemoryBackendPlugins, MemoryService, REMEMBER_SCHEMA, type RememberInput } from "../memory/index.js";
import { Methods } from "../contract/index.js";
import { PluginHttpProxy } from "../proxy/index.js";
import { createHttpApi } from "../surfaces/http/index.js";
import { mountMcpHttp } from "../surfaces/mcp/index.js";
import { NEXO_VERSION } from "../version.js";
import type { RunService } from "../runs/index.js";
import { callWithDeadline, errorMessage, isThenable } from "./deadline.js";
import { HookRunner, OwnedList } from "./hook-runner.js";
import { Execution } from "./execution.js";
import { runMiddleware } from "./middleware.js";
import { currentPluginScope } from "./plugin-scope.js";
import type { NexusPlugin } from "./nexus-plugin.js";
import { ON_ABORTABLE } from "./abort-hook.js";
import { removePluginContributions } from "./plugin-contributions.js";
import { PluginManager } from "./plugin-manager.js";
import { subprocessHealth } from "./subprocess-health.js";
import { ToolRegistry, type CallToolOptions, type RemoteTools, type ToolCalledHook, type ToolInfo, type ToolResult } from "./tools/index.js";
import type {
  AppHealth,
  AppState,
  ExecuteWorkflowOptions,
  HealthStatus,
  LifecycleHook,
  NexoOptions,
  NexoService,
  PluginStatusEntry,
  Principal,
  RegisterWorkflowOptions,
  ResolvedNexoOptions,
  ServiceHealth,
  Unsubscribe,
  WorkflowCall,
  WorkflowCompletedEvent,
  WorkflowFailedEvent,
  WorkflowHandler,
  WorkflowHook,
  WorkflowInfo,
  WorkflowInputs,
  WorkflowMiddleware,
  WorkflowStartedEvent,
} from "./types.js";
import { publishWorkflowEvent } from "./workflow-events.js";
import { assertInputsObject, WorkflowRegistry, type WorkflowEntry } from "./workflow-registry.js";

const HOOK_NAMES = { started: "onWorkflowStarted", completed: "onWorkflowCompleted", failed: "onWorkflowFailed" } as const;

const DEFAULTS: ResolvedNexoOptions = {
  apiPort: 8000,
  apiHost: "127.0.0.1",
  hookTimeoutMs: 5000,
  drainTimeoutMs: 10_000,
  http: true,
  maxPendingHooks: 10_000,
  stateDir: ".nexo-state",
  maxBodyBytes: 1_048_576,
  mcpAllowedOrigins: [],
};

/**
 * The Nexo app: workflows run through a middleware chain with lifecycle hooks,
 * in-process plugins (`NexusPlugin`) and subprocess plugins (`app.host`) under
 * one lifecycle, and the HTTP API (`app.http`, fastify). `nexo run` builds the
 * same app from `nexo.yaml`.
 * @example
 * const app = new Nexo({ apiPort: 8000 });
 * app.register("greet", async ({ name }) => ({ text: `hello ${name}` }), {
 *   inputSchema: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
 * });
 * app.addPlugin(new RequestLoggerPlugin());
 * await app.start();
 */
export class Nexo {
  readonly options: ResolvedNexoOptions;
  readonly logger: Logger;
  readonly broker: Broker;
  /** In-process plugins (the reference plugin API's PluginManager, docs/writing-plugins.md); `app.addPlugin` registers here. */
  readonly plugins: PluginManager;
  /** Subprocess plugins: spawn, handshake, supervision (docs/contract.md). */
  readonly host: PluginHost;
  /** The HTTP API; in-process plugins may add routes and hooks in `setup`. */
  readonly http: FastifyInstance;
  /** The `http_server` capability: subprocess plugins' HTTP ports and the reverse proxy of their `[plugin.http]` routes. */
  readonly proxy: PluginHttpProxy;
  /** The LLM providers of `options.llm` (`app.llm.complete(...)`); they also serve the plugins' `llm.complete`. */
  readonly llm: LlmService;
  /** Agent memory on the app's store (`remember`, `recall`); it also serves the plugins' `memory.recall`. */
  readonly memory: MemoryService;
  /** The authorization gate of `options.authorization` (its audit trail in `.audit`), or undefined when every caller may run everything. */
  readonly authorization: AuthorizationGate | undefined;
  /** Hook points (`before_message`, `before_tool_call`, `before_outbound`): `app.onHook` and plugins' `[plugin.extends] hooks`. */
  readonly hookPoints: HookPoints;
  /** Channels of subprocess plugins: `app.channels.send(kind, instance, msg)`, `list()`, `stats()` (docs/channels-and-hooks.md). */
  readonly channels: ChannelService;
  readonly version = NEXO_VERSION;

  private appState: AppState = "created";
  private readonly ownsBroker: boolean;
  private readonly workflows = new WorkflowRegistry();
  private readonly middleware = new OwnedList<WorkflowMiddleware>();
  private readonly startupHooks = new OwnedList<LifecycleHook>();
  private readonly shutdownHooks = new OwnedList<LifecycleHook>();
  private readonly startedHooks = new OwnedList<WorkflowHook<WorkflowStartedEvent>>();
  private readonly completedHooks = new OwnedList<WorkflowHook<WorkflowCompletedEvent>>();
  private readonly failedHooks = new OwnedList<WorkflowHook<WorkflowFailedEvent>>();
  private readonly toolHooks = new OwnedList<ToolCalledHook>();
  private readonly tools: ToolRegistry;
  private readonly services = new OwnedList<NexoService>();
  private readonly startedServices: NexoService[] = [];
  private readonly hooks: HookRunner;
  private readonly inFlight = new Set<Execution>();
  private startedAt = 0;
  private boundPort: number | null = null;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly extensions: PluginExtensions;
  private runService: RunService | undefined;

  constructor(options: NexoOptions = {}) {
    const { broker, logger, pluginTimeouts, pluginSandbox, llm, memoryRememberTool, memoryBackend, authorization, httpConventions, ...rest } = options;
    this.options = { ...DEFAULTS, ...stripUndefined(rest) };
    checkOptions(this.options);
    this.logger = logger ?? createLogger();
    this.ownsBroker = broker === undefined;
    this.broker = broker ?? new LocalBroker({ logger: this.logger });
    this.hooks = new HookRunner({ logger: this.logger, timeoutMs: this.options.hookTimeoutMs, maxPending: this.options.maxPendingHooks });
    this.host = new PluginHost({
      broker: this.broker,
      logger: this.logger,
      nexoVersion: NEXO_VERSION,
      stateRoot: resolve(this.options.stateDir),
      ...(pluginTimeouts ? { timeouts: pluginTimeouts } : {}),
      ...(pluginSandbox ? { sandbox: pluginSandbox } : {}),
      extraHostEnv: (spec) => this.proxy.envFor(spec),
      describeRoute: (key) => this.proxy.describeRoute(key),
    });
    this.hookPoints = new HookPoints({ logger: this.logger });
    this.channels = new ChannelService({ broker: this.broker, logger: this.logger, hooks: this.hookPoints, listPlugins: () => this.host.list() });
    this.extensions = new PluginExtensions(this.hookPoints, this.channels);
    this.host.onPluginAdded((sup) => this.extensions.attach(sup));
    // A plugin removed by a reload no longer serves its channels and hooks.
    this.host.onPluginRemoved((sup) => void this.extensions.detach(sup.key));
    this.services.add({ name: "channels", start: () => undefined, stop: () => undefined, health: () => this.channels.health() }, null);
    this.plugins = new PluginManager(this);
    this.tools = new ToolRegistry({
      host: this.host,
      broker: this.broker,
      logger: this.logger,
      listWorkflows: () => this.workflows.list(),
      // Through the instance: a plugin that wraps app.executeWorkflow wraps workflow tools too.
      executeWorkflow: (name, inputs, options) => this.executeWorkflow(name, inputs, options),
      authorize: (principal, name, surface) => this.authorization?.authorize({ principal, kind: "tool", name, surface }),
      onCalled: (event) => {
        if (this.toolHooks.size > 0) void this.hooks.dispatch(this.toolHooks, event, "onToolCalled");
      },
    });
    this.http = createHttpApi(this, httpConventions);
    this.proxy = new PluginHttpProxy({
      http: this.http,
      host: this.host,
      logger: this.logger,
      maxBodyBytes: this.options.maxBodyBytes,
      closeGraceMs: this.options.drainTimeoutMs,
    });
    // A service so routes are mounted at start, once every subprocess plugin is known and before HTTP listens.
    this.services.add({ name: "plugin-http-proxy", start: () => this.proxy.mountAll(), stop: () => this.proxy.close() }, null);
    mountMcpHttp(this);
    this.llm = new LlmService(llm ?? { providers: {} }, this.logger);
    // Always served: LLM provider plugins may add providers after construction; with none, the reply says "not configured".
    this.host.setHostService(Methods.LLM_COMPLETE, this.llm.hostService());
    attachLlmProviderPlugins(this.host, this.llm);
    this.memory = new MemoryService(this.options.store ?? `sqlite:${resolve(this.options.stateDir, "nexo.db")}`, this.logger, memoryBackend);
    attachMemoryBackendPlugins(this.host, this.memory, this.logger);
    this.host.setHostService(Methods.MEMORY_RECALL, this.memory.hostService());
    this.authorization = authorization === undefined ? undefined : this.createGate(authorization);
    if (memoryRememberTool) {
      this.register("memory_remember", (inputs) => this.memory.remember(inputs as unknown as RememberInput), {
        description: "Remember a fact for an agent: later memory.recall queries by that agent find it by its words and tags.",
        inputSchema: { ...REMEMBER_SCHEMA },
      });
    }
  }

  /**
   * Asynchronous workflow runs (`POST /workflows/:name/runs`, an execute with
   * an Idempotency-Key, `nexo runs`, schedules). The daemon builds the service
   * and attaches it (`attachRuns`); an app without one refuses those requests
   * with NEXO_ERR_RUNS_NOT_ATTACHED.
   */
  get runs(): RunService {
    if (this.runService === undefined) {
      throw new NexoError(ErrorCodes.RUNS_NOT_ATTACHED, "this app has no run service: attach one with app.attachRuns(RunService.forApp(app)) (the daemon does)");
    }
    return this.runService;
  }

  /** True once a run service is attached (`attachRuns`). */
  get hasRuns(): boolean {
    return this.runService !== undefined;
  }

  /** Give the app its run service (`runs`), closed when the app stops. Once per app. */
  attachRuns(runs: RunService): void {
    if (this.runService !== undefined) throw new NexoError(ErrorCodes.PLUGIN_INVALID, "this app already has a run service", { field: "runs" });
    this.runService = runs;
    this.services.add({ name: "runs", start: () => undefined, stop: () => runs.close() }, null);
  }

  /** Where the app is in its life: created, starting, running, stopping, stopped. */
  get state(): AppState {
    return this.appState;
  }

  /** The HTTP port actually bound (useful with `apiPort: 0`), or null when not listening. */
  get port(): number | null {
    return this.boundPort;
  }

  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:8000`, or null when not listening. */
  get url(): string | null {
    return this.boundPort === null ? null : `http://${hostForUrl(this.options.apiHost)}:${this.boundPort}`;
  }

  // ---- workflows -------------------------------------------------------

  /**
   * Register a workflow. Its inputs are checked against `inputSchema` (every
   * violation reported) before the handler runs. Registered inside a plugin's
   * `setup`, it belongs to that plugin and goes away with it.
   */
  register<I extends WorkflowInputs = WorkflowInputs, R = unknown>(name: string, handler: WorkflowHandler<I, R>, options: RegisterWorkflowOptions = {}): Unsubscribe {
    this.workflows.add(name, handler as WorkflowHandler<any, unknown>, options, currentPluginScope());
    this.tools.invalidate();
    return () => {
      if (this.workflows.remove(name)) this.tools.invalidate();
    };
  }

  /** Registered workflows, in registration order. */
  listWorkflows(): WorkflowInfo[] {
    return this.workflows.list();
  }

  /** One workflow's description, or undefined. */
  getWorkflow(name: string): WorkflowInfo | undefined {
    const e = this.workflows.get(name);
    return e && { name: e.name, description: e.description, inputSchema: e.inputSchema, owner: e.owner };
  }

  /**
   * Check that workflow `name` exists and that `inputs` satisfy its schema, without
   * running it (a run is refused at submission rather than failing later).
   * Throws NEXO_ERR_WORKFLOW_NOT_FOUND or NEXO_ERR_WORKFLOW_INVALID_INPUT.
   */
  checkWorkflowInputs(name: string, inputs: unknown): void {
    const entry = this.workflows.get(name);
    if (!entry) throw new NexoError(ErrorCodes.WORKFLOW_NOT_FOUND, `no workflow named "${name}"`, { data: { workflow: name } });
    assertInputsObject(name, inputs);
    entry.check(inputs);
  }

  /**
   * Run workflow `name` through the middleware chain and return its result.
   * Errors: NEXO_ERR_WORKFLOW_NOT_FOUND, NEXO_ERR_WORKFLOW_INVALID_INPUT (every
   * violation in `details.data.violations`), NEXO_ERR_WORKFLOW_ABORTED,
   * NEXO_ERR_APP_STOPPED, or whatever the handler threw.
   * Surfaces call this through the instance, so a plugin that replaces
   * `app.executeWorkflow` (the reference plugin API's caching example, docs/writing-plugins.md) wraps every surface.
   */
  async executeWorkflow(name: string, inputs: unknown = {}, options: ExecuteWorkflowOptions = {}): Promise<unknown> {
    if (this.appState === "stopping" || this.appState === "stopped") {
      throw new NexoError(ErrorCodes.APP_STOPPED, `the app is ${this.appState}; workflow "${name}" not run`);
    }
    const entry = this.workflows.get(name);
    if (!entry) {
      throw new NexoError(ErrorCodes.WORKFLOW_NOT_FOUND, `no workflow named "${name}"`, { data: { workflow: name } });
    }
    assertInputsObject(name, inputs);
    // Before the middleware: a cache hit or any other short-circuit must not skip the gate.
    if (this.authorization !== undefined && options.channel !== undefined && options.channel !== "local") {
      this.authorization.authorize({ principal: options.principal, kind: "workflow", name, surface: options.channel });
    }
    const execution = new Execution(name, options.sessionId ?? null, options.channel ?? "local", this);
    if (options.principal) execution.principal = options.principal;
    if (options.headers) execution.headers = options.headers;
    if (options.workflowId) execution.setWorkflowId(options.workflowId);
    if (options.onProgress) execution.progressSink = options.onProgress;
    const external = options.signal;
    let onExternalAbort: (() => void) | undefined;
    if (external) {
      if (external.aborted) execution.abort(external.reason);
      else external.addEventListener("abort", (onExternalAbort = () => execution.abort(external.reason)), { once: true });
    }
    options[ON_ABORTABLE]?.((reason) => execution.abort(reason));
    const call: WorkflowCall = { workflowName: name, inputs, context: execution };
    const done = runMiddleware(this.middleware.fns, call, (c) => this.runHandler(entry, c));
    execution.done = done;
    this.inFlight.add(execution);
    try {
      return await done;
    } finally {
      this.inFlight.delete(execution);
      if (onExternalAbort) external!.removeEventListener("abort", onExternalAbort);
    }
  }

  /**
   * Wrap every workflow execution: `app.use(async (call, next) => ...)`. Call
   * `next()` at most once; not calling it short-circuits with your return value.
   * Middleware runs in registration order, outermost first.
   */
  use(middleware: WorkflowMiddleware): Unsubscribe {
    if (typeof middleware !== "function") {
      throw new NexoError(ErrorCodes.WORKFLOW_INVALID_DEFINITION, `middleware must be a function, got ${typeof middleware}`, { field: "middleware" });
    }
    return this.middleware.add(middleware, currentPluginScope());
  }

  /**
   * Innermost step: validate inputs, emit started, run the handler, emit
   * completed or failed. Events are built only when something observes them
   * (a hook, or a broker subscriber): the common unobserved run allocates nothing extra.
   */
  private async runHandler(entry: WorkflowEntry, call: WorkflowCall): Promise<unknown> {
    const { context } = call;
    assertInputsObject(entry.name, call.inputs);
    entry.check(call.inputs);
    const topics = entry.topics;
    const base = this.isObserved(topics)
      ? { workflowId: context.workflowId, workflowName: entry.name, sessionId: context.sessionId, channel: context.channel, inputs: call.inputs, timestamp: nowIso() }
      : undefined;
    const t0 = base ? performance.now() : 0;
    if (base) this.emit("started", this.startedHooks, base, topics.started);
    try {
      const execution = context instanceof Execution ? context : undefined;
      if (execution?.aborted) await execution.race(Promise.resolve());
      const out = entry.handler(call.inputs, context);
      // A synchronous handler's result needs no race and no extra microtask hop.
      const result = isThenable(out) ? await (execution ? execution.race(Promise.resolve(out)) : out) : out;
      if (base) this.emit("completed", this.completedHooks, { ...base, result, duration: (performance.now() - t0) / 1000 }, topics.completed);
      return result;
    } catch (err) {
      if (base) {
        const error = { code: err instanceof NexoError ? err.code : ErrorCodes.WORKFLOW_FAILED, message: errorMessage(err) };
        this.emit("failed", this.failedHooks, { ...base, error, duration: (performance.now() - t0) / 1000 }, topics.failed);
      }
      throw err;
    }
  }

  /** True when a workflow hook is registered, or the broker has (or cannot rule out) a subscriber for one of the lifecycle topics. */
  private isObserved(topics: WorkflowEntry["topics"]): boolean {
    if (this.startedHooks.size + this.completedHooks.size + this.failedHooks.size > 0) return true;
    return this.broker.hasSubscribers(topics.started) || this.broker.hasSubscribers(topics.completed) || this.broker.hasSubscribers(topics.failed);
  }

  private emit<E extends WorkflowStartedEvent>(phase: "started" | "completed" | "failed", list: OwnedList<WorkflowHook<E>>, event: E, topic: string): void {
    if (list.size > 0) void this.hooks.dispatch(list, event, HOOK_NAMES[phase]);
    publishWorkflowEvent(this.broker, this.logger, phase, event, topic);
  }

  // ---- authorization (logic in ../authz) ----------------------------------

  private createGate(config: NonNullable<NexoOptions["authorization"]>): AuthorizationGate {
    const compiled = compileAuthorization(config);
    const audit = compiled.audit.enabled
      ? new AuditLog(this.options.store ?? `sqlite:${resolve(this.options.stateDir, "nexo.db")}`, this.logger, { retentionDays: compiled.audit.retentionDays })
      : undefined;
    return new AuthorizationGate(compiled, this.logger, audit);
  }

  /**
   * Ask the gate whether `principal` may do `kind name` through `surface`;
   * throws NEXO_ERR_AUTHZ_FORBIDDEN (403) when refused. Without
   * `authorization` configured, everything is allowed. For surfaces and
   * plugins that add their own actions (workflows and plugin tools are
   * checked by `executeWorkflow` and `callTool` themselves).
   */
  authorize(principal: Principal | undefined, kind: ActionKind, name: string, surface: string): void {
    this.authorization?.authorize({ principal, kind, name, surface });
  }

  // ---- tools (logic in ./tools) -----------------------------------------

  /**
   * Tools callable now: every workflow, and the tools of ready subprocess plugins (`<plugin_key>_<name>`).
   * Given a principal (or `null` for an anonymous caller), only those the authorization gate lets it call.
   */
  listTools(principal?: Principal | null): ToolInfo[] {
    const all = this.tools.list();
    const gate = this.authorization;
    if (gate === undefined || principal === undefined) return all;
    const p = principal ?? undefined;
    return all.filter((t) => gate.decide(p, t.source === "workflow" ? "workflow" : "tool", t.name).allowed);
  }

  /** One callable tool's description, or undefined. */
  getTool(name: string): ToolInfo | undefined {
    return this.tools.get(name);
  }

  /**
   * Call a tool: arguments are checked against its schema (every violation
   * reported) before anything is sent. Resolves with `{content, is_error}`;
   * rejects with NEXO_ERR_TOOL_* (NOT_FOUND, INVALID_ARGS, EXECUTION_FAILED,
   * UNAVAILABLE with `details.data.retryAfterMs`, DENIED, TIMEOUT, PLUGIN_EXITED)
   * or NEXO_ERR_APP_STOPPED.
   * @example const r = await app.callTool("billing_stripe_create_invoice", { customer: "cus_1" }, { timeoutMs: 10_000 });
   */
  callTool(name: string, args: unknown = {}, options: CallToolOptions = {}): Promise<ToolResult> {
    if (this.appState === "stopping" || this.appState === "stopped") {
      return Promise.reject(new NexoError(ErrorCodes.APP_STOPPED, `the app is ${this.appState}; tool "${name}" not called`));
    }
    if (this.hookPoints.has(HookNames.BEFORE_TOOL_CALL)) return beforeToolCall(this.hookPoints, name, args, options).then((a) => this.tools.call(name, a, options));
    return this.tools.call(name, args, options);
  }

  /**
   * Stop serving plugin `key`'s channels and hooks (its outbound events go
   * nowhere through the channel service, its hooks are no longer called).
   * Stopping the plugin sends `channel.stop` by itself; this only unregisters.
   * Re-added with the next `app.host.add` of the same key. False when nothing was attached.
   */
  detachPluginExtensions(key: string): boolean {
    return this.extensions.detach(key);
  }

  /** Offer the tools of other daemons of a cluster beside this app's own (docs/cluster.md). Returns the detach. */
  attachRemoteTools(remote: RemoteTools): Unsubscribe {
    const off = this.tools.setRemote(remote);
    return () => void off();
  }

  /** This app's own tools, without those of other daemons: what a cluster member announces. */
  listLocalTools(): ToolInfo[] {
    return this.tools.listLocal();
  }

  /** Called after every call of a known tool with its outcome and duration (never its arguments or result). Also on the broker as `tool.<name>.completed|failed`. */
  onToolCalled(fn: ToolCalledHook): Unsubscribe {
    return this.toolHooks.add(checkFn(fn, "onToolCalled"), currentPluginScope());
  }

  /** Called (coalesced) when the list of callable tools changes; MCP sends `notifications/tools/list_changed` from it. */
  onToolsChanged(fn: () => void): Unsubscribe {
    const off = this.tools.onChanged(checkFn(fn, "onToolsChanged"));
    return () => void off();
  }

  // ---- hooks -----------------------------------------------------------

  /**
   * Intercept at a hook point, like a plugin listing it in `[plugin.extends]
   * hooks`: `before_message` (an inbound event before its binding runs),
   * `before_tool_call`, `before_outbound`. Return a HookResponse (`{decision:
   * "block", reason}`, `{override: {...}}`, `{decision: "transform",
   * transformed_body}`, `{do_not_reply_again: true}`) or nothing to allow.
   * In-process hooks run before plugin hooks, in registration order; a throw
   * or a miss of the hook deadline counts as allow.
   * @example app.onHook("before_message", (e) => (/stop/i.test(String(e.body)) ? { decision: "block", reason: "opt-out", do_not_reply_again: true } : undefined));
   */
  onHook(name: HookName, fn: InProcessHook): Unsubscribe {
    if (typeof name !== "string" || !isHookName(name)) {
      throw new NexoError(ErrorCodes.HOOK_INVALID, `onHook needs a hook point (before_message, before_tool_call, before_outbound), got ${JSON.stringify(name)}`, { field: "name" });
    }
    return this.hookPoints.on(name, checkFn(fn, "onHook"), currentPluginScope());
  }

  /** Run `fn` once the app has started (immediately, guarded, if it already has). */
  onStartup(fn: LifecycleHook): Unsubscribe {
    const off = this.startupHooks.add(checkFn(fn, "onStartup"), currentPluginScope());
    if (this.appState === "running") void this.hooks.callGuarded(fn, [], currentPluginScope(), "onStartup");
    return off;
  }

  /** Run `fn` when the app stops, after in-flight work drained and before plugin teardown. */
  onShutdown(fn: LifecycleHook): Unsubscribe {
    return this.shutdownHooks.add(checkFn(fn, "onShutdown"), currentPluginScope());
  }

  /** Called before each workflow handler runs. Never awaited by the workflow; errors and hangs are logged. */
  onWorkflowStarted(fn: WorkflowHook<WorkflowStartedEvent>): Unsubscribe {
    return this.startedHooks.add(checkFn(fn, "onWorkflowStarted"), currentPluginScope());
  }

  /** Called after each workflow handler returned, with `result` and `duration` (seconds). */
  onWorkflowCompleted(fn: WorkflowHook<WorkflowCompletedEvent>): Unsubscribe {
    return this.completedHooks.add(checkFn(fn, "onWorkflowCompleted"), currentPluginScope());
  }

  /** Called after each workflow handler threw or was aborted, with `error` and `duration` (seconds). */
  onWorkflowFailed(fn: WorkflowHook<WorkflowFailedEvent>): Unsubscribe {
    return this.failedHooks.add(checkFn(fn, "onWorkflowFailed"), currentPluginScope());
  }

  // ---- plugins and services ----------------------------------------------

  /**
   * Register an in-process plugin and run its `setup(app)` (the reference plugin API's
   * `app.add_plugin`). Same as `app.plugins.register(plugin)`.
   */
  addPlugin(plugin: NexusPlugin<any>): Promise<void> {
    return this.plugins.register(plugin);
  }

  /**
   * Bind something's lifetime to the app's: started in registration order at
   * `start()` (before the HTTP API opens), stopped in reverse at `stop()`.
   */
  addService(service: NexoService): Unsubscribe {
    if (!service || typeof service.start !== "function" || typeof service.stop !== "function" || typeof service.name !== "string") {
      throw new NexoError(ErrorCodes.PLUGIN_INVALID, "a service needs a name, start(app) and stop(app)", { field: "service" });
    }
    const off = this.services.add(service, currentPluginScope());
    if (this.appState === "running") void this.startService(service);
    return off;
  }

  /** Drop every hook, middleware and workflow registered by plugin `name` (it was unregistered or failed). */
  [removePluginContributions](name: string): void {
    for (const list of [this.middleware, this.startupHooks, this.shutdownHooks, this.startedHooks, this.completedHooks, this.failedHooks, this.toolHooks]) {
      (list as OwnedList<unknown>).removeOwner(name);
    }
    this.workflows.removeOwner(name);
    this.hookPoints.removeOwner(name);
    this.tools.invalidate();
    for (const { fn, owner } of this.services.entries) {
      if (owner === name && this.startedServices.includes(fn)) void this.stopService(fn);
    }
    this.services.removeOwner(name);
  }

  /** Status of every plugin, in-process and subprocess alike. */
  async pluginStatuses(): Promise<PluginStatusEntry[]> {
    const health = await this.health();
    return health.plugins;
  }

  /**
   * `/health`: the app's state, each in-process plugin, each subprocess plugin,
   * and each service. `failed` when the app is not running or something failed.
   */
  async health(): Promise<AppHealth> {
    const plugins = [...this.plugins.statuses(), ...subprocessHealth(this.host)];
    const services: Array<{ name: string } & ServiceHealth> = [];
    for (const { fn: s } of this.services.entries) {
      if (!s.health) continue;
      const outcome = await callWithDeadline(() => s.health!(), this.options.hookTimeoutMs);
      const h: ServiceHealth = outcome.ok
        ? outcome.value
        : { status: "failed", message: outcome.timedOut ? `health check did not answer within ${this.options.hookTimeoutMs} ms` : errorMessage(outcome.error) };
      services.push({ name: s.name, ...h });
      if (h.plugins) plugins.push(...h.plugins);
    }
    let status: HealthStatus = this.appState === "running" ? "ok" : "failed";
    for (const x of [...plugins, ...services]) {
      const st = "health" in x ? x.health : x.status;
      if (st === "failed") status = "failed";
      else if (st === "degraded" && status === "ok") status = "degraded";
    }
    return {
      status,
      state: this.appState,
      version: NEXO_VERSION,
      uptimeSeconds: this.startedAt ? Math.round((Date.now() - this.startedAt) / 1000) : 0,
      plugins,
      services,
    };
  }

  // ---- lifecycle ---------------------------------------------------------

  /**
   * Start: wait for plugin setups, start services and subprocess plugins, open
   * the HTTP API, then run `onStartup` hooks. A subprocess plugin that fails to
   * start is reported in `/health`, not fatal. Idempotent.
   */
  start(): Promise<void> {
    if (this.appState === "stopping" || this.appState === "stopped") {
      return Promise.reject(new NexoError(ErrorCodes.APP_STOPPED, `the app is ${this.appState}; create a new one to start again`));
    }
    this.starting ??= this.boot();
    return this.starting;
  }

  private async boot(): Promise<void> {
    this.appState = "starting";
    try {
      const failed = await this.plugins.settled();
      if (failed.length) this.logger.warn({ plugins: failed }, "in-process plugins failed to set up; starting without them");
      for (const { fn } of this.services.entries) if (fn.after !== "plugins") await this.startService(fn);
      const report = await this.host.startAll();
      for (const { fn } of this.services.entries) if (fn.after === "plugins") await this.startService(fn);
      for (const f of report.failed) this.logger.error({ plugin: f.key, err: f.error }, "subprocess plugin failed to start");
      if (this.options.http) {
        await this.http.listen({ port: this.options.apiPort, host: this.options.apiHost });
        const addr = this.http.server.address();
        this.boundPort = typeof addr === "object" && addr ? addr.port : this.options.apiPort;
      } else {
        await this.http.ready();
      }
    } catch (err) {
      this.logger.error({ err }, "start failed; stopping what started");
      await this.shutdown("start failed", false);
      throw err;
    }
    this.startedAt = Date.now();
    this.appState = "running";
    await this.hooks.runSequential(this.startupHooks, "onStartup");
    this.logger.info(
      { url: this.url, workflows: this.workflows.list().length, plugins: this.plugins.list(), subprocessPlugins: this.host.list().map((s) => s.key) },
      "nexo app started",
    );
  }

  /**
   * Stop: close the HTTP API, let in-flight workflows finish (up to
   * `drainTimeoutMs`, then abort them), run `onShutdown` hooks, stop subprocess
   * plugins, tear down in-process plugins in reverse order, stop services,
   * close the broker if the app created it. Never throws; idempotent.
   */
  stop(): Promise<void> {
    if (!this.stopping) {
      // Refuse new work from this very call on, not from the first await.
      if (this.appState === "running") this.appState = "stopping";
      this.stopping = (async () => {
        await this.starting?.catch(() => undefined);
        await this.shutdown("app stopping", this.startedAt > 0);
      })();
    }
    return this.stopping;
  }

  private async shutdown(reason: string, runShutdownHooks: boolean): Promise<void> {
    if (this.appState === "stopped") return;
    this.appState = "stopping";
    await this.http.close().catch((err: unknown) => this.logger.warn({ err }, "closing the HTTP API failed"));
    this.boundPort = null;
    await this.drainWorkflows();
    if (runShutdownHooks) await this.hooks.runSequential(this.shutdownHooks, "onShutdown");
    await this.hooks.drain(this.options.hookTimeoutMs);
    for (const s of [...this.startedServices].reverse()) if (s.after === "plugins") await this.stopService(s);
    await this.host.stopAll(reason);
    await this.plugins.teardownAll();
    // After every plugin is gone (subprocess ones call memory.recall, in-process ones may remember in teardown).
    await this.memory.close().catch((err: unknown) => this.logger.warn({ err }, "closing the memory store failed"));
    await this.authorization?.audit?.close().catch((err: unknown) => this.logger.warn({ err }, "closing the audit trail failed"));
    for (const s of [...this.startedServices].reverse()) await this.stopService(s);
    if (this.ownsBroker) await this.broker.close();
    this.appState = "stopped";
    this.logger.info("nexo app stopped");
  }

  private async drainWorkflows(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const running = [...this.inFlight];
    const outcome = await callWithDeadline(() => Promise.allSettled(running.map((r) => r.done)), this.options.drainTimeoutMs);
    if (outcome.ok) return;
    this.logger.warn({ count: this.inFlight.size, drainTimeoutMs: this.options.drainTimeoutMs }, "workflows still running after the drain deadline: aborting them");
    const reason = new NexoError(ErrorCodes.WORKFLOW_ABORTED, "the app is stopping");
    for (const r of this.inFlight.values()) r.abort(reason);
    await Promise.allSettled([...this.inFlight].map((r) => r.done));
  }

  private async startService(s: NexoService): Promise<void> {
    const owner = this.services.entries.find((e) => e.fn === s)?.owner ?? null;
    const outcome = await callWithDeadline(() => s.start(this), Math.max(this.options.hookTimeoutMs, 30_000));
    if (!outcome.ok) {
      const why = outcome.timedOut ? "did not start in time" : errorMessage(outcome.error);
      throw new NexoError(ErrorCodes.PLUGIN_SETUP_FAILED, `service ${s.name}${owner ? ` (plugin ${owner})` : ""} failed to start: ${why}`, {
        pluginId: owner ?? s.name,
        cause: outcome.timedOut ? undefined : outcome.error,
      });
    }
    this.startedServices.push(s);
  }

  private async stopService(s: NexoService): Promise<void> {
    const i = this.startedServices.indexOf(s);
    if (i < 0) return;
    this.startedServices.splice(i, 1);
    await this.hooks.callGuarded(() => s.stop(this), [], null, `service ${s.name} stop`);
  }
}

function checkFn<F>(fn: F, what: string): F {
  if (typeof fn !== "function") {
    throw new NexoError(ErrorCodes.PLUGIN_INVALID, `${what} needs a function, got ${fn === null ? "null" : typeof fn}`, { field: what });
  }
  return fn;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkOptions(o: ResolvedNexoOptions): void {
  const int = (name: keyof ResolvedNexoOptions, min: number, max: number): void => {
    const v = o[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new NexoError(ErrorCodes.CONFIG_INVALID, `Nexo option ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)} (${typeof v})`, { field: name });
    }
  };
  int("apiPort", 0, 65535);
  int("hookTimeoutMs", 1, 3_600_000);
  int("drainTimeoutMs", 0, 3_600_000);
  int("maxPendingHooks", 1, 10_000_000);
  int("maxBodyBytes", 1, 1 << 30);
  if (typeof o.apiHost !== "string" || o.apiHost.length === 0) {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `Nexo option apiHost must be a non-empty string, got ${JSON.stringify(o.apiHost)}`, { field: "apiHost" });
  }
  if (typeof o.http !== "boolean") throw new NexoError(ErrorCodes.CONFIG_INVALID, `Nexo option http must be a boolean, got ${typeof o.http}`, { field: "http" });
  if (o.store !== undefined && (typeof o.store !== "string" || o.store.length === 0)) {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `Nexo option store must be a store URL (sqlite:<file> or postgres://...), got ${typeof o.store}`, { field: "store" });
  }
  if (!Array.isArray(o.mcpAllowedOrigins)) {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `Nexo option mcpAllowedOrigins must be an array of origins, got ${typeof o.mcpAllowedOrigins}`, { field: "mcpAllowedOrigins" });
  }
  o.mcpAllowedOrigins.forEach((origin, i) => {
    if (typeof origin !== "string" || !isOrigin(origin)) {
      throw new NexoError(
        ErrorCodes.CONFIG_INVALID,
        `Nexo option mcpAllowedOrigins[${i}] must be an origin such as "https://app.example.com" (scheme://host[:port] as a browser sends it: no default port, path or trailing slash), got ${JSON.stringify(origin)}`,
        { field: `mcpAllowedOrigins[${i}]` },
      );
    }
  });
}

/** True for a serialized origin: what `new URL(x).origin` gives back unchanged. */
function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.origin === s;
  } catch {
    return false;
  }
}

function hostForUrl(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

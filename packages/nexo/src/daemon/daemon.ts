import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { internalPrincipal, parseAuditQuery } from "../authz/index.js";
import { createBroker, validatePattern, type Broker } from "../broker/index.js";
import type { NexoConfig } from "../config/index.js";
import { newEvent, RpcError, RpcErrorCodes } from "../contract/index.js";
import { Nexo } from "../app/index.js";
import { BindingsService, parseBindings } from "../bindings/index.js";
import { discoverPlugins, pluginKey, type PluginHost, type PluginSpec } from "../host/index.js";
import { describePlan, hasCgroupLimits, hasLimits, planSandbox } from "../host/sandbox/index.js";
import { describePermissions, planPermissions } from "../host/permissions/index.js";
import { createLogger, type Logger } from "../log/index.js";
import { ControlMethods, ControlServer, pollerControlHandlers, runControlHandlers, TAIL_EVENT, type ControlHandler } from "../surfaces/control/index.js";
import { loadInProcessPlugins, loadWorkflowModules } from "./load-modules.js";
import type { PollerService } from "../pollers/index.js";
import { createPollers, type DaemonPollerOptions } from "./pollers.js";
import { contributeMetrics } from "../plugins/index.js";
import { buildPluginSpecs } from "./plugin-specs.js";
import { ScheduleService } from "../schedules/index.js";
import { RunService } from "../runs/index.js";
import { NEXO_VERSION } from "../version.js";
import { ErrorCodes, isNexoError, NexoError } from "../errors.js";
import { attachCluster, brokerClusterOptions } from "../cluster/index.js";
import { createReloader, reloadOverControl } from "./reload/index.js";
import type { Reloader, ReloadReport } from "./reload/index.js";

/** Whoever can open the control socket (its file mode lets only the daemon's user in): the `control_socket` principal of authorization rules. */
const CONTROL_SOCKET_PRINCIPAL = internalPrincipal("local", "control_socket");

export interface DaemonOptions {
  logger?: Logger;
  /** Use this broker instead of the one the config names (tests, embedding); left open by `stop()`. */
  broker?: Broker;
  /** Extra control handlers contributed by the embedder. */
  controlHandlers?: Record<string, ControlHandler>;
  /** Called with the app before it starts: register workflows and plugins here. */
  configure?: (app: Nexo) => void | Promise<void>;
  /**
   * Hands new items of poller jobs with `agent:` to that agent. Default: run
   * the workflow named by `agent` with the item as inputs (channel "poller").
   */
  deliverToAgent?: DaemonPollerOptions["deliverToAgent"];
  /** Registry the pollers register their metrics on. Default: the service's own. */
  metricsRegistry?: DaemonPollerOptions["registry"];
  /** Open the control socket. Default true; `nexo mcp` runs without one so it never takes over a running daemon's socket. */
  controlSocket?: boolean;
  /** How `reload()` reads the config again. Default: `loadConfig(config.file)`; a daemon without a config file cannot reload. */
  reloadConfig?: () => NexoConfig;
}

/**
 * `nexo run`: the Nexo app built from `nexo.yaml` — broker, subprocess plugins
 * found in `plugin_paths`, the HTTP API, and the local control socket the CLI
 * talks to. `stop()` undoes `start()` in reverse order and is safe to call twice.
 */
export class Daemon {
  /** The YAML-only pollers, when the config has any. */
  pollers: PollerService | null = null;
  private control: ControlServer | undefined;
  private stopped = false;
  private readonly reloader: Reloader;
  /** Keys of the subprocess plugins that come from the config (a reload manages these, never the embedder's own). */
  readonly configuredPlugins = new Set<string>();

  private constructor(
    private currentConfig: NexoConfig,
    readonly app: Nexo,
    private readonly ownsBroker: boolean,
    private readonly extraHandlers: Record<string, ControlHandler>,
    /** The agent bindings of `bindings:` (their counters: `bindings.stats()`). */
    readonly bindings: BindingsService,
    private readonly options: DaemonOptions,
  ) {
    this.reloader = createReloader(this, options.reloadConfig);
  }

  /** The config in force: the one it started with, then each reload's (settings that need a restart keep their running values). */
  get config(): NexoConfig {
    return this.currentConfig;
  }

  /** After a reload was applied: the config in force from now on (@internal). */
  commitReload(config: NexoConfig): void {
    this.currentConfig = config;
  }

  /**
   * Read the config again and apply only the difference (`nexo reload`,
   * SIGHUP); resolves with what changed. A config that does not validate
   * changes nothing and rejects with NEXO_ERR_CONFIG_PARSE or
   * NEXO_ERR_CONFIG_INVALID. See docs/operations.md.
   */
  reload(): Promise<ReloadReport> {
    if (this.stopped) return Promise.reject(new NexoError(ErrorCodes.APP_STOPPED, "the daemon is stopped; nothing to reload"));
    return this.reloader.reload();
  }

  get broker(): Broker {
    return this.app.broker;
  }

  get host(): PluginHost {
    return this.app.host;
  }

  get logger(): Logger {
    return this.app.logger;
  }

  /** Build the app from `config` and start it; a plugin that fails to start is logged, not fatal. */
  static async start(config: NexoConfig, options: DaemonOptions = {}): Promise<Daemon> {
    // Before anything starts: a bad binding is a config error.
    const bindings = new BindingsService(parseBindings(config.bindings));
    const logger = options.logger ?? createLogger({ level: config.logLevel });
    mkdirSync(config.stateDir, { recursive: true });
    const broker = options.broker ?? (await createBroker(config.broker, { logger, ...brokerClusterOptions(config.cluster, config.store) }));
    const app = new Nexo({
      broker,
      logger,
      apiPort: config.api.port,
      apiHost: config.api.host,
      http: config.api.enabled,
      maxBodyBytes: config.api.maxBodyBytes,
      mcpAllowedOrigins: config.api.mcpAllowedOrigins,
      httpConventions: config.api.conventions,
      stateDir: config.stateDir,
      store: config.store,
      llm: config.llm,
      memoryRememberTool: config.memory.rememberTool,
      ...(config.authorization ? { authorization: config.authorization } : {}),
      ...(config.memory.backend !== undefined ? { memoryBackend: config.memory.backend } : {}),
      ...(config.sandbox ? { pluginSandbox: config.sandbox } : {}),
      pluginTimeouts: {
        ...(config.timeouts.pluginInitMs ? { initMs: config.timeouts.pluginInitMs } : {}),
        ...(config.timeouts.pluginToolMs ? { toolMs: config.timeouts.pluginToolMs } : {}),
        ...(config.timeouts.pluginShutdownGraceMs ? { killGraceMs: config.timeouts.pluginShutdownGraceMs } : {}),
      },
    });
    app.attachRuns(RunService.forApp(app, config.runs));
    const daemon = new Daemon(config, app, options.broker === undefined, options.controlHandlers ?? {}, bindings, options);
    try {
      await daemon.addSubprocessPlugins();
      daemon.addPollers(options);
      attachCluster(app, config.cluster);
      if (options.controlSocket !== false) daemon.addControlService();
      await loadInProcessPlugins(app, config.inProcessPlugins);
      await loadWorkflowModules(app, config.workflows);
      await options.configure?.(app);
      // Every workflow is registered by now: an unknown one fails here with its own code.
      bindings.checkWorkflows(app);
      // Also with none: a reload may add some.
      app.addService(bindings);
      if (config.schedules.length > 0) {
        const schedules = new ScheduleService(app, config.schedules);
        schedules.checkWorkflows();
        app.addService(schedules);
      }
      await app.start();
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    // Name the control socket only when this daemon listens on it (`nexo mcp` does not).
    logger.info({ ...(options.controlSocket !== false ? { socket: config.control.socket } : {}), api: app.url }, "nexo daemon started");
    return daemon;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // A reload half applied would start plugins behind the stop.
    await this.reloader.settled();
    await this.app.stop();
    if (this.ownsBroker) await this.broker.close();
    this.logger.info("nexo daemon stopped");
  }

  private async addSubprocessPlugins(): Promise<void> {
    const { config, logger } = this;
    const found = await discoverPlugins(config.pluginPaths);
    for (const r of found.rejected) logger.error({ path: r.path, err: r.error.message }, "plugin refused");
    for (const m of found.manifests) for (const w of m.warnings) logger.warn({ pluginId: m.id, file: m.file }, w);
    const { specs, errors, skipped } = buildPluginSpecs(found.manifests, config.plugins);
    for (const e of errors) logger.error({ code: e.code, pluginId: e.pluginId }, e.message);
    if (skipped.length) logger.info({ skipped }, "plugins found but not started (disabled, or not listed under plugins:)");
    const m = this.host.limitMechanism();
    if (specs.some((s) => hasLimits({ ...config.sandbox?.limits, ...s.limits }))) {
      if (m.mechanism === "cgroup v2") logger.info({ mechanism: m.mechanism, cgroup: m.dir }, "plugin resource limits: cgroup v2");
      else logger.info({ mechanism: m.mechanism, reason: m.reason }, "plugin resource limits: rlimits (prlimit), cgroup v2 not usable");
    }
    for (const spec of specs) {
      logContainment(logger, spec, config, m.mechanism === "cgroup v2" ? m.dir : null);
      try {
        this.host.add(spec);
        this.configuredPlugins.add(pluginKey(spec));
      } catch (err) {
        logger.error({ err: (err as Error).message, code: (err as { code?: string }).code }, "plugin refused");
      }
    }
  }

  /** For a reload that brings the first pollers: create them for `config` and start them (@internal). */
  async startPollers(config: NexoConfig): Promise<void> {
    this.addPollers(this.options, config);
    await this.pollers?.start();
  }

  /**
   * Pollers start after the subprocess plugins (whose subscriptions must exist
   * before the first items are published) and stop before them.
   */
  private addPollers(options: DaemonOptions, config: NexoConfig = this.config): void {
    const deliverToAgent: DaemonPollerOptions["deliverToAgent"] =
      options.deliverToAgent ??
      (async (agent, item, job) => {
        const inputs = item.data !== null && typeof item.data === "object" && !Array.isArray(item.data) ? (item.data as Record<string, unknown>) : { item: item.data };
        await this.app.executeWorkflow(agent, inputs, { channel: "poller", sessionId: `poller:${job.id}`, principal: internalPrincipal("poller", job.id) });
      });
    const pollers = createPollers(config, this.broker, this.logger, {
      deliverToAgent,
      ...(options.metricsRegistry ? { registry: options.metricsRegistry } : {}),
    });
    if (!pollers) return;
    this.pollers = pollers;
    // Shown on /metrics when the Monitoring plugin is on (now or added later).
    if (!options.metricsRegistry) contributeMetrics(this.app, pollers.registry);
    this.app.addService({ name: "pollers", after: "plugins", start: () => pollers.start(), stop: () => pollers.stop() });
  }

  /** The control socket starts with the app's services, before subprocess plugins, so the CLI sees them starting. */
  private addControlService(): void {
    this.app.addService({
      name: "control-socket",
      start: async () => {
        this.control = new ControlServer({
          socketPath: this.config.control.socket,
          logger: this.logger,
          handlers: { ...this.controlHandlers(), ...livePollerHandlers(() => this.pollers), ...runControlHandlers(this.app), ...this.extraHandlers },
        });
        await this.control.listen();
      },
      stop: async () => {
        await this.control?.close();
      },
    });
  }

  private controlHandlers(): Record<string, ControlHandler> {
    return {
      [ControlMethods.INFO]: () => ({
        version: NEXO_VERSION,
        pid: process.pid,
        config: this.config.file,
        stateDir: this.config.stateDir,
        broker: this.config.broker,
        api: this.app.url,
        state: this.app.state,
      }),
      [ControlMethods.PLUGIN_LIST]: () => this.host.status().map((s) => ({ key: s.key, id: s.id, version: s.version, state: s.state, pid: s.pid, restarts: s.restarts })),
      [ControlMethods.PLUGIN_STATUS]: (params) => {
        const key = param(params, "key", false);
        return key ? this.host.require(key).status() : this.host.status();
      },
      [ControlMethods.PLUGIN_RESTART]: (params) => this.host.restart(param(params, "key", true)!),
      [ControlMethods.RELOAD]: () => reloadOverControl(this),
      [ControlMethods.PUBLISH]: async (params) => {
        const topic = param(params, "topic", true)!;
        const payload = (params as Record<string, unknown>).payload ?? null;
        const event = newEvent(topic, "nexo.cli", payload);
        await this.broker.publish(topic, event);
        return { id: event.id, topic };
      },
      [ControlMethods.TAIL]: (params, session) => {
        const pattern = param(params, "pattern", true)!;
        try {
          validatePattern(pattern);
        } catch (err) {
          throw new RpcError(RpcErrorCodes.INVALID_PARAMS, (err as Error).message);
        }
        const sub = this.broker.subscribe(pattern, (event) => void session.notify(TAIL_EVENT, { pattern, event }), { name: "control:tail", bufferSize: 4096 });
        session.onClose(() => sub.unsubscribe());
        return { pattern };
      },
      [ControlMethods.AUDIT_QUERY]: async (params) => {
        const audit = this.app.authorization?.audit;
        if (audit === undefined)
          throw new RpcError(RpcErrorCodes.INVALID_REQUEST, "this daemon keeps no audit trail (configure authorization: with audit enabled)", { code: ErrorCodes.HTTP_NOT_FOUND });
        try {
          this.app.authorize(CONTROL_SOCKET_PRINCIPAL, "admin", "audit", "cli");
          const raw = params !== null && typeof params === "object" && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
          return await audit.query(parseAuditQuery(raw));
        } catch (err) {
          if (isNexoError(err)) throw new RpcError(RpcErrorCodes.INVALID_PARAMS, err.message, { code: err.code });
          throw err;
        }
      },
      [ControlMethods.WORKFLOW_LIST]: () => this.app.listWorkflows().map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
      [ControlMethods.WORKFLOW_RUN]: async (params) => {
        const name = param(params, "name", true)!;
        const inputs = (params as Record<string, unknown>).inputs ?? {};
        try {
          return { result: (await this.app.executeWorkflow(name, inputs, { channel: "cli", principal: CONTROL_SOCKET_PRINCIPAL })) ?? null };
        } catch (err) {
          // Keep the stable code and the violations: the CLI prints them.
          if (isNexoError(err)) {
            const badCall = err.code === ErrorCodes.WORKFLOW_INVALID_INPUT || err.code === ErrorCodes.WORKFLOW_NOT_FOUND || err.code === ErrorCodes.AUTHZ_FORBIDDEN;
            throw new RpcError(badCall ? RpcErrorCodes.INVALID_PARAMS : RpcErrorCodes.INTERNAL_ERROR, err.message, { code: err.code, ...(err.details.data as object | undefined) });
          }
          throw err;
        }
      },
    };
  }
}

/** Poller control handlers that look the service up per call: a reload may create it. */
function livePollerHandlers(pollers: () => PollerService | null): Record<string, ControlHandler> {
  const names = Object.keys(pollerControlHandlers(null));
  return Object.fromEntries(names.map((name) => [name, ((params, session) => pollerControlHandlers(pollers())[name](params, session)) as ControlHandler]));
}

function param(params: unknown, name: string, required: boolean): string | undefined {
  const v = params && typeof params === "object" ? (params as Record<string, unknown>)[name] : undefined;
  if (v === undefined || v === null) {
    if (required) throw new RpcError(RpcErrorCodes.INVALID_PARAMS, `missing parameter "${name}"`);
    return undefined;
  }
  if (typeof v !== "string") throw new RpcError(RpcErrorCodes.INVALID_PARAMS, `parameter "${name}" must be a string`);
  return v;
}

/** Say at start how a plugin will be contained and what it may use; a sandbox it cannot get is reported when it is started. */
function logContainment(logger: Logger, spec: PluginSpec, config: NexoConfig, cgroupRoot: string | null): void {
  const key = pluginKey(spec);
  try {
    const operator = config.sandbox ?? { require: false, allowHostNetwork: [], limits: {}, protectedPaths: [config.stateDir] };
    const plan = planSandbox(spec.manifest, key, join(config.stateDir, "plugins", key), operator, spec.limits);
    // Where launch will put its limits (CgroupManager.prepare names the group the same way).
    if (cgroupRoot && hasCgroupLimits(plan.limits)) plan.cgroup = join(cgroupRoot, `plugin-${key}`);
    const { sandbox, limits } = describePlan(plan);
    const grants = describePermissions(planPermissions(spec.manifest, spec.grants, operator.enforcePermissions ?? false));
    logger.info({ plugin: key, sandbox, limits, grants }, plan.sandbox ? "plugin runs sandboxed" : "plugin runs unsandboxed");
  } catch {
    // planSandbox refuses again at launch, where the refusal is logged with its code.
  }
}

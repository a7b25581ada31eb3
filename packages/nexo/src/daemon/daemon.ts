import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createBroker, validatePattern, type Broker } from "../broker/index.js";
import type { NexoConfig } from "../config/index.js";
import { newEvent, RpcError, RpcErrorCodes } from "../contract/index.js";
import { Nexo } from "../app/index.js";
import { BindingsService, parseBindings } from "../bindings/index.js";
import { discoverPlugins, pluginKey, type PluginHost, type PluginSpec } from "../host/index.js";
import { describePlan, planSandbox } from "../host/sandbox/index.js";
import { createLogger, type Logger } from "../log/index.js";
import { ControlMethods, ControlServer, TAIL_EVENT, type ControlHandler } from "../surfaces/control/index.js";
import { loadInProcessPlugins, loadWorkflowModules } from "./load-modules.js";
import { pollerControlHandlers, type PollerService } from "../pollers/index.js";
import { createPollers, type DaemonPollerOptions } from "./pollers.js";
import { contributeMetrics } from "../plugins/monitoring/index.js";
import { buildPluginSpecs } from "./plugin-specs.js";
import { ScheduleService } from "../schedules/index.js";
import { runControlHandlers } from "../runs/run-control.js";
import { NEXO_VERSION } from "../version.js";
import { ErrorCodes, isNexoError } from "../errors.js";

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

  private constructor(
    readonly config: NexoConfig,
    readonly app: Nexo,
    private readonly ownsBroker: boolean,
    private readonly extraHandlers: Record<string, ControlHandler>,
    /** The agent bindings of `bindings:` (their counters: `bindings.stats()`). */
    readonly bindings: BindingsService,
  ) {}

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
    const broker = options.broker ?? (await createBroker(config.broker, { logger }));
    const app = new Nexo({
      broker,
      logger,
      apiPort: config.api.port,
      apiHost: config.api.host,
      http: config.api.enabled,
      maxBodyBytes: config.api.maxBodyBytes,
      mcpAllowedOrigins: config.api.mcpAllowedOrigins,
      httpConventions: config.api.conventions,
      runs: config.runs,
      stateDir: config.stateDir,
      store: config.store,
      llm: config.llm,
      memoryRememberTool: config.memory.rememberTool,
      ...(config.sandbox ? { pluginSandbox: config.sandbox } : {}),
      pluginTimeouts: {
        ...(config.timeouts.pluginInitMs ? { initMs: config.timeouts.pluginInitMs } : {}),
        ...(config.timeouts.pluginToolMs ? { toolMs: config.timeouts.pluginToolMs } : {}),
        ...(config.timeouts.pluginShutdownGraceMs ? { killGraceMs: config.timeouts.pluginShutdownGraceMs } : {}),
      },
    });
    const daemon = new Daemon(config, app, options.broker === undefined, options.controlHandlers ?? {}, bindings);
    try {
      await daemon.addSubprocessPlugins();
      daemon.addPollers(options);
      if (options.controlSocket !== false) daemon.addControlService();
      await loadInProcessPlugins(app, config.inProcessPlugins);
      await loadWorkflowModules(app, config.workflows);
      await options.configure?.(app);
      // Every workflow is registered by now: an unknown one fails here with its own code.
      if (bindings.specs.length > 0) {
        bindings.checkWorkflows(app);
        app.addService(bindings);
      }
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
    for (const spec of specs) {
      logContainment(logger, spec, config);
      try {
        this.host.add(spec);
      } catch (err) {
        logger.error({ err: (err as Error).message, code: (err as { code?: string }).code }, "plugin refused");
      }
    }
  }

  /**
   * Pollers start after the subprocess plugins (whose subscriptions must exist
   * before the first items are published) and stop before them.
   */
  private addPollers(options: DaemonOptions): void {
    const deliverToAgent: DaemonPollerOptions["deliverToAgent"] =
      options.deliverToAgent ??
      (async (agent, item, job) => {
        const inputs = item.data !== null && typeof item.data === "object" && !Array.isArray(item.data) ? (item.data as Record<string, unknown>) : { item: item.data };
        await this.app.executeWorkflow(agent, inputs, { channel: "poller", sessionId: `poller:${job.id}` });
      });
    const pollers = createPollers(this.config, this.broker, this.logger, {
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
          handlers: { ...this.controlHandlers(), ...pollerControlHandlers(this.pollers), ...runControlHandlers(this.app), ...this.extraHandlers },
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
      [ControlMethods.WORKFLOW_LIST]: () => this.app.listWorkflows().map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
      [ControlMethods.WORKFLOW_RUN]: async (params) => {
        const name = param(params, "name", true)!;
        const inputs = (params as Record<string, unknown>).inputs ?? {};
        try {
          return { result: (await this.app.executeWorkflow(name, inputs, { channel: "cli" })) ?? null };
        } catch (err) {
          // Keep the stable code and the violations: the CLI prints them.
          if (isNexoError(err)) {
            const badCall = err.code === ErrorCodes.WORKFLOW_INVALID_INPUT || err.code === ErrorCodes.WORKFLOW_NOT_FOUND;
            throw new RpcError(badCall ? RpcErrorCodes.INVALID_PARAMS : RpcErrorCodes.INTERNAL_ERROR, err.message, { code: err.code, ...(err.details.data as object | undefined) });
          }
          throw err;
        }
      },
    };
  }
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

/** Say at start how a plugin will be contained; a sandbox it cannot get is reported when it is started. */
function logContainment(logger: Logger, spec: PluginSpec, config: NexoConfig): void {
  const key = pluginKey(spec);
  try {
    const operator = config.sandbox ?? { require: false, allowHostNetwork: [], limits: {}, protectedPaths: [config.stateDir] };
    const plan = planSandbox(spec.manifest, key, join(config.stateDir, "plugins", key), operator, spec.limits);
    const { sandbox, limits } = describePlan(plan);
    logger.info({ plugin: key, sandbox, limits }, plan.sandbox ? "plugin runs sandboxed" : "plugin runs unsandboxed");
    if (plan.networkKeptForHttp) logger.warn({ plugin: key }, 'plugin has network = "deny" but serves HTTP through the proxy: it keeps the host network (docs/sandbox.md)');
  } catch {
    // planSandbox refuses again at launch, where the refusal is logged with its code.
  }
}

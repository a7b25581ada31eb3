import { mkdirSync } from "node:fs";
import { createBroker, validatePattern, type Broker } from "../broker/index.js";
import type { NexoConfig } from "../config/index.js";
import { newEvent, RpcError, RpcErrorCodes } from "../contract/index.js";
import { discoverPlugins, PluginHost } from "../host/index.js";
import { createLogger, type Logger } from "../log/index.js";
import { ControlMethods, ControlServer, TAIL_EVENT, type ControlHandler } from "../surfaces/control/index.js";
import { pollerControlHandlers, type PollerService } from "../pollers/index.js";
import { buildPluginSpecs } from "./plugin-specs.js";
import { createPollers, type DaemonPollerOptions } from "./pollers.js";
import { NEXO_VERSION } from "../version.js";

export interface DaemonOptions {
  logger?: Logger;
  /** Use this broker instead of the one the config names (tests, embedding). */
  broker?: Broker;
  /** Extra control handlers (workflows, tools) contributed by the app. */
  controlHandlers?: Record<string, ControlHandler>;
  /** Hands new items of poller jobs with `agent:` to that agent (the app wires workflow execution). */
  deliverToAgent?: DaemonPollerOptions["deliverToAgent"];
  /** Registry the pollers register their metrics on (the Monitoring plugin exposes it). Default: the service's own. */
  metricsRegistry?: DaemonPollerOptions["registry"];
}

/**
 * The running daemon around the subprocess plugins: broker, plugin discovery
 * and supervision, and the local control socket. `stop()` undoes `start()` in
 * reverse order and is safe to call twice.
 */
export class Daemon {
  readonly host: PluginHost;
  /** The YAML-only pollers, when the config has any. */
  pollers: PollerService | null = null;
  private control: ControlServer | undefined;
  private stopped = false;

  private constructor(
    readonly config: NexoConfig,
    readonly broker: Broker,
    readonly logger: Logger,
    private readonly ownsBroker: boolean,
    private readonly extraHandlers: Record<string, ControlHandler>,
    private readonly pollerOptions: DaemonPollerOptions = {},
  ) {
    this.host = new PluginHost({
      broker,
      logger,
      nexoVersion: NEXO_VERSION,
      stateRoot: config.stateDir,
      timeouts: {
        ...(config.timeouts.pluginInitMs ? { initMs: config.timeouts.pluginInitMs } : {}),
        ...(config.timeouts.pluginToolMs ? { toolMs: config.timeouts.pluginToolMs } : {}),
        ...(config.timeouts.pluginShutdownGraceMs ? { killGraceMs: config.timeouts.pluginShutdownGraceMs } : {}),
      },
    });
  }

  /** Start everything the config describes; plugin failures are logged, not fatal. */
  static async start(config: NexoConfig, options: DaemonOptions = {}): Promise<Daemon> {
    const logger = options.logger ?? createLogger({ level: config.logLevel });
    mkdirSync(config.stateDir, { recursive: true });
    const broker = options.broker ?? (await createBroker(config.broker, { logger }));
    const daemon = new Daemon(config, broker, logger, options.broker === undefined, options.controlHandlers ?? {}, {
      ...(options.deliverToAgent ? { deliverToAgent: options.deliverToAgent } : {}),
      ...(options.metricsRegistry ? { registry: options.metricsRegistry } : {}),
    });
    try {
      await daemon.boot();
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return daemon;
  }

  private async boot(): Promise<void> {
    const { config, logger } = this;
    const found = discoverPlugins(config.pluginPaths, NEXO_VERSION);
    for (const r of found.rejected) logger.error({ path: r.path, err: r.error.message }, "plugin refused");
    const { specs, errors, skipped } = buildPluginSpecs(found.manifests, config.plugins);
    for (const e of errors) logger.error({ code: e.code, pluginId: e.pluginId }, e.message);
    if (skipped.length) logger.info({ skipped }, "plugins found but not started (disabled, or not listed under plugins:)");
    for (const spec of specs) {
      try {
        this.host.add(spec);
      } catch (err) {
        logger.error({ err: (err as Error).message }, "plugin refused");
      }
    }
    this.pollers = createPollers(config, this.broker, logger, this.pollerOptions);
    this.control = new ControlServer({ socketPath: config.control.socket, logger, handlers: { ...this.controlHandlers(), ...pollerControlHandlers(this.pollers), ...this.extraHandlers } });
    await this.control.listen();
    const report = await this.host.startAll();
    // After the plugins, so their subscriptions exist before the first items are published.
    await this.pollers?.start();
    logger.info({ ready: report.ready, failed: report.failed.map((f) => f.key), socket: config.control.socket }, "nexo daemon started");
    for (const f of report.failed) logger.error({ plugin: f.key, err: f.error }, "plugin failed to start");
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.control?.close();
    await this.pollers?.stop();
    await this.host.stopAll();
    if (this.ownsBroker) await this.broker.close();
    this.logger.info("nexo daemon stopped");
  }

  private controlHandlers(): Record<string, ControlHandler> {
    return {
      [ControlMethods.INFO]: () => ({ version: NEXO_VERSION, pid: process.pid, config: this.config.file, stateDir: this.config.stateDir, broker: this.config.broker }),
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

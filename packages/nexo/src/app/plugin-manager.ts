import { callWithDeadline, errorMessage, isThenable } from "./deadline.js";
import type { Nexo } from "./nexo.js";
import { removePluginContributions } from "./plugin-contributions.js";
import { runInPluginScope } from "./plugin-scope.js";
import type { PluginStatusEntry } from "./types.js";
import { newEvent } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { NexusPlugin } from "./nexus-plugin.js";

/** Plugin names: a letter, then up to 63 letters, digits, `_` or `-` (a valid topic segment). */
export const PLUGIN_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;

/** Where an in-process plugin is in its life. */
export type InProcessPluginState = "setting-up" | "ready" | "failed" | "stopped";

interface PluginRecord {
  readonly plugin: NexusPlugin<any>;
  state: InProcessPluginState;
  error?: string;
  /** Set while an async setup runs. */
  pending?: Promise<void>;
}

const RESOLVED = Promise.resolve();
const noop = (): void => {};

/**
 * Registers in-process plugins on an app and runs their lifecycle. Every
 * manager of one app shares the app's registry (`app.plugins`), so plugins
 * registered through `new PluginManager(app)` as in the reference plugin API are torn down by
 * `app.stop()` like any other: one lifecycle for all plugins.
 *
 * `register` is sync-friendly: a synchronous `setup` has run when it returns,
 * and a synchronous failure (duplicate name, setup threw) is thrown at once;
 * an async `setup` finishes in the background, `app.start()` waits for it, and
 * the returned promise (already guarded against unhandled rejection) reports it.
 * @example
 * const pm = new PluginManager(app);
 * pm.register(new MyCustomPlugin());
 * pm.register(new MetricsPlugin());
 * console.log(`Active plugins: ${pm.list()}`);
 */
export class PluginManager {
  private readonly records: Map<string, PluginRecord>;

  constructor(readonly app: Nexo) {
    // `app.plugins` is unset while the app constructs its own manager.
    const shared = (app as { plugins?: PluginManager }).plugins;
    this.records = shared ? shared.records : new Map();
  }

  /** Register `plugin` and run its `setup(app)`. Throws NEXO_ERR_PLUGIN_INVALID, NEXO_ERR_PLUGIN_DUPLICATE or NEXO_ERR_PLUGIN_SETUP_FAILED. */
  register(plugin: NexusPlugin<any>): Promise<void> {
    const name = pluginName(plugin);
    if (this.records.has(name)) {
      throw new NexoError(ErrorCodes.PLUGIN_DUPLICATE, `plugin "${name}" is already registered`, { pluginId: name });
    }
    const record: PluginRecord = { plugin, state: "setting-up" };
    this.records.set(name, record);
    let out: unknown;
    try {
      out = runInPluginScope(name, () => plugin.setup(this.app));
    } catch (err) {
      throw this.setupFailed(record, name, err);
    }
    if (!isThenable(out)) {
      this.setupDone(record, name);
      return RESOLVED;
    }
    const timeoutMs = this.app.options.hookTimeoutMs;
    const pending = callWithDeadline(() => out as PromiseLike<unknown>, timeoutMs).then((outcome) => {
      record.pending = undefined;
      if (outcome.ok) return this.setupDone(record, name);
      const cause = outcome.timedOut ? new NexoError(ErrorCodes.PLUGIN_HOOK_TIMEOUT, `setup did not finish within ${timeoutMs} ms`, { pluginId: name }) : outcome.error;
      throw this.setupFailed(record, name, cause);
    });
    record.pending = pending;
    pending.catch(noop);
    return pending;
  }

  /** Tear down and remove plugin `name`, with its hooks, middleware and workflows. False when it was not registered. */
  async unregister(name: string): Promise<boolean> {
    const record = this.records.get(name);
    if (!record) return false;
    this.records.delete(name);
    if (record.pending) await record.pending.catch(noop);
    this.app[removePluginContributions](name);
    if (record.state === "ready") await this.teardownOne(record, name);
    record.state = "stopped";
    this.app.logger.info({ plugin: name }, `Plugin unregistered: ${name}`);
    return true;
  }

  /** The plugin registered as `name`. */
  get<P extends NexusPlugin<any> = NexusPlugin<any>>(name: string): P | undefined {
    return this.records.get(name)?.plugin as P | undefined;
  }

  /** Names of registered plugins, in setup order. */
  list(): string[] {
    return [...this.records.keys()];
  }

  /** Status of each in-process plugin, in setup order. */
  statuses(): PluginStatusEntry[] {
    return [...this.records.entries()].map(([name, r]) => {
      const entry: PluginStatusEntry = {
        name,
        version: safeGet(() => r.plugin.version, "0.0.0"),
        kind: "in-process",
        state: r.state,
        health: r.state === "ready" ? "ok" : r.state === "setting-up" ? "degraded" : "failed",
      };
      const description = safeGet(() => r.plugin.description, "");
      if (description) entry.details = { description };
      if (r.error !== undefined) entry.error = r.error;
      if (r.state === "ready" && typeof r.plugin.health === "function") {
        const own = safeGet(() => r.plugin.health!(), { status: "failed", message: "its health() threw" });
        entry.health = own.status;
        if (own.message) entry.error = own.message;
        if (own.details) entry.details = { ...entry.details, ...own.details };
      }
      return entry;
    });
  }

  /** Wait until no setup is running; resolves with the names of plugins whose setup failed. */
  async settled(): Promise<string[]> {
    const pending = [...this.records.values()].map((r) => r.pending).filter((p): p is Promise<void> => p !== undefined);
    await Promise.all(pending.map((p) => p.catch(noop)));
    return [...this.records.entries()].filter(([, r]) => r.state === "failed").map(([n]) => n);
  }

  /** Tear down every ready plugin in reverse order of setup (the app's `stop()` calls this). Never throws. */
  async teardownAll(): Promise<void> {
    await this.settled();
    const entries = [...this.records.entries()].reverse();
    for (const [name, record] of entries) {
      if (record.state !== "ready") continue;
      await this.teardownOne(record, name);
      record.state = "stopped";
    }
  }

  private setupDone(record: PluginRecord, name: string): void {
    record.state = "ready";
    const version = safeGet(() => record.plugin.version, "0.0.0");
    this.app.logger.info({ plugin: name, version }, `Plugin registered: ${name} v${version}`);
    this.publish(name, "started", { plugin: name, version, kind: "in-process" });
  }

  private setupFailed(record: PluginRecord, name: string, err: unknown): NexoError {
    record.state = "failed";
    record.error = errorMessage(err);
    this.app[removePluginContributions](name);
    const error = new NexoError(ErrorCodes.PLUGIN_SETUP_FAILED, `plugin "${name}" failed to set up: ${record.error}`, { pluginId: name, cause: err });
    this.app.logger.error({ plugin: name, err }, error.message);
    this.publish(name, "failed", { plugin: name, kind: "in-process", error: { code: error.code, message: error.message } });
    return error;
  }

  private async teardownOne(record: PluginRecord, name: string): Promise<void> {
    const timeoutMs = this.app.options.hookTimeoutMs;
    const outcome = await callWithDeadline(() => record.plugin.teardown(), timeoutMs);
    if (!outcome.ok) {
      const why = outcome.timedOut ? `did not finish within ${timeoutMs} ms` : errorMessage(outcome.error);
      this.app.logger.error({ plugin: name, hook: "teardown", err: outcome.timedOut ? undefined : outcome.error }, `teardown of plugin ${name} failed: ${why}`);
    }
    this.publish(name, "stopped", { plugin: name, kind: "in-process", clean: outcome.ok });
  }

  private publish(name: string, what: string, payload: Record<string, unknown>): void {
    const topic = `plugin.lifecycle.${name}.${what}`;
    this.app.broker.publish(topic, newEvent(topic, "nexo", payload)).catch((err: unknown) => {
      this.app.logger.debug({ plugin: name, topic, err }, "lifecycle event not published");
    });
  }
}

function pluginName(plugin: NexusPlugin<any>): string {
  if (plugin === null || typeof plugin !== "object" || typeof plugin.setup !== "function" || typeof plugin.teardown !== "function") {
    throw new NexoError(ErrorCodes.PLUGIN_INVALID, `plugin must be a NexusPlugin (an object with name, setup and teardown), got ${plugin === null ? "null" : typeof plugin}`, {
      field: "plugin",
    });
  }
  const name: unknown = plugin.name;
  if (typeof name !== "string" || !PLUGIN_NAME_PATTERN.test(name)) {
    throw new NexoError(ErrorCodes.PLUGIN_INVALID, `invalid plugin name ${JSON.stringify(name)} (${typeof name}): must match ${PLUGIN_NAME_PATTERN}`, {
      field: "name",
      rule: String(PLUGIN_NAME_PATTERN),
    });
  }
  return name;
}

function safeGet<T>(read: () => T, fallback: T): T {
  try {
    return read() ?? fallback;
  } catch {
    return fallback;
  }
}

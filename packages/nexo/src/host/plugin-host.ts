import { ErrorCodes, NexoError } from "../errors.js";
import { CgroupManager, probeCgroup, type SandboxOperatorConfig } from "./sandbox/index.js";
import type { Logger } from "../log/index.js";
import { Methods } from "../contract/index.js";
import { OrphanGuard } from "./orphan-guard.js";
import { PluginSupervisor, type SupervisorOptions } from "./supervisor.js";
import { defaultHostTimeouts, pluginKey, type HostContext, type HostServiceHandler, type HostTimeouts, type PluginSpec, type PluginStatus } from "./types.js";
import type { Broker } from "../broker/index.js";

export interface PluginHostOptions {
  broker: Broker;
  logger: Logger;
  nexoVersion: string;
  /** Root of plugin state dirs (`<stateRoot>/plugins/<key>/`). */
  stateRoot: string;
  timeouts?: Partial<HostTimeouts>;
  /** Plugin-to-host request handlers (`memory.recall`, `llm.complete`, ...). */
  hostServices?: Record<string, HostServiceHandler>;
  /** Extra `NEXO_*` env per plugin, asked before every spawn (e.g. the allocated HTTP port). */
  extraHostEnv?: (spec: PluginSpec) => Record<string, string> | Promise<Record<string, string>>;
  /** The plugin's HTTP route for its status (see the proxy), if any. */
  describeRoute?: (key: string) => string | undefined;
  supervisor?: SupervisorOptions;
  /** The operator's sandbox settings (nexo.yaml `sandbox:`). */
  sandbox?: SandboxOperatorConfig;
  /** Where plugins' limits get cgroups. Default: the daemon's own cgroup v2 group when usable (probed), else rlimits. */
  cgroups?: CgroupManager;
}

/** Result of starting every plugin: the ones that failed, with why. */
export interface StartReport {
  ready: string[];
  failed: Array<{ key: string; error: string }>;
}

/**
 * All subprocess plugins of a daemon: one supervisor each, started in parallel,
 * stopped in parallel, addressable by key (`<id>` or `<id>.<instance>`).
 */
export class PluginHost {
  private readonly supervisors = new Map<string, PluginSupervisor>();
  private readonly addedListeners = new Set<(sup: PluginSupervisor) => void>();
  private readonly validators = new Set<(spec: PluginSpec) => void>();
  private readonly removedListeners = new Set<(sup: PluginSupervisor) => void>();
  private readonly beforeStopHooks = new Set<(sup: PluginSupervisor, reason: string) => Promise<void> | void>();
  private readonly ctx: HostContext;
  private readonly orphanGuard = new OrphanGuard();
  /** Channel kind -> the plugin id that owns it (all its instances share it). */
  private readonly kindOwners = new Map<string, { id: string; manifest: string }>();

  constructor(private readonly options: PluginHostOptions) {
    this.ctx = {
      broker: options.broker,
      logger: options.logger,
      nexoVersion: options.nexoVersion,
      stateRoot: options.stateRoot,
      timeouts: defaultHostTimeouts(options.timeouts),
      hostServices: { ...(options.hostServices ?? {}) },
      ...(options.extraHostEnv ? { extraHostEnv: options.extraHostEnv } : {}),
      ...(options.describeRoute ? { describeRoute: options.describeRoute } : {}),
      processGroups: this.orphanGuard,
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
      cgroups: options.cgroups ?? new CgroupManager(probeCgroup()),
    };
  }

  /** How plugins' resource limits are enforced here: cgroup v2 (and where), or rlimits and why not cgroup v2. */
  limitMechanism(): ReturnType<CgroupManager["mechanism"]> {
    return this.ctx.cgroups!.mechanism();
  }

  /** Host timeouts in force. */
  get timeouts(): HostTimeouts {
    return this.ctx.timeouts;
  }

  /**
   * Register a plugin to supervise (not started yet). Refused: a duplicate key
   * (NEXO_ERR_HOST_DUPLICATE_PLUGIN), and a channel kind another plugin id
   * already registered (NEXO_ERR_HOST_CHANNEL_KIND_TAKEN): a kind has one
   * owner, whose instances share it, or the second plugin could read and
   * write the first one's channel traffic.
   */
  add(spec: PluginSpec): PluginSupervisor {
    for (const check of this.validators) check(spec);
    const key = pluginKey(spec);
    const existing = this.supervisors.get(key);
    if (existing) {
      throw new NexoError(
        ErrorCodes.HOST_DUPLICATE_PLUGIN,
        `two plugins named ${key}: ${existing.spec.manifest.file} and ${spec.manifest.file}; give one a distinct id or instance label`,
        { pluginId: key },
      );
    }
    const { id } = spec.manifest;
    const kinds = [...new Set([...spec.manifest.channels.map((c) => c.kind), ...spec.manifest.extends.channels])];
    for (const kind of kinds) {
      const owner = this.kindOwners.get(kind);
      if (owner && owner.id !== id) {
        throw new NexoError(
          ErrorCodes.HOST_CHANNEL_KIND_TAKEN,
          `plugin ${key} (${spec.manifest.file}) registers channel kind "${kind}", which plugin ${owner.id} (${owner.manifest}) already owns; a channel kind has one owner: rename the kind or disable one plugin`,
          { pluginId: key, data: { kind, owner: owner.id } },
        );
      }
    }
    for (const kind of kinds) if (!this.kindOwners.has(kind)) this.kindOwners.set(kind, { id, manifest: spec.manifest.file });
    const sup = new PluginSupervisor(spec, this.ctx, this.options.supervisor);
    this.supervisors.set(key, sup);
    for (const fn of this.addedListeners) {
      try {
        fn(sup);
      } catch (err) {
        this.options.logger.warn({ plugin: key, err: (err as Error).message }, "plugin-added listener threw");
      }
    }
    return sup;
  }

  /** Checks run first in `add`: one that throws (a NexoError naming the conflict) refuses the plugin. Returns an unsubscribe function. */
  addValidator(fn: (spec: PluginSpec) => void): () => void {
    this.validators.add(fn);
    return () => this.validators.delete(fn);
  }

  /** Called with each supervisor `add` creates (e.g. the tool registry follows its status). Returns an unsubscribe function. */
  onPluginAdded(fn: (sup: PluginSupervisor) => void): () => void {
    this.addedListeners.add(fn);
    return () => this.addedListeners.delete(fn);
  }

  /** Called with each supervisor `remove` took away, after it stopped. Returns an unsubscribe function. */
  onPluginRemoved(fn: (sup: PluginSupervisor) => void): () => void {
    this.removedListeners.add(fn);
    return () => this.removedListeners.delete(fn);
  }

  /**
   * Awaited before a plugin is stopped on purpose (`stopAll`, `remove`, `restart`), while
   * it still runs: the place for requests a plugin must get before `shutdown`
   * (e.g. `channel.stop`). A hook that throws is logged and the stop goes on;
   * hooks bound their own time. Not called for crashes (the process is gone).
   */
  onBeforeStop(fn: (sup: PluginSupervisor, reason: string) => Promise<void> | void): () => void {
    this.beforeStopHooks.add(fn);
    return () => this.beforeStopHooks.delete(fn);
  }

  /**
   * Stop plugin `key` (before-stop hooks, shutdown, grace, kill) and forget it:
   * its key and, once no instance of its id is left, its channel kinds are free
   * for a later `add`. NEXO_ERR_HOST_PLUGIN_NOT_FOUND when there is no such plugin.
   */
  async remove(key: string, reason = "removed"): Promise<void> {
    const sup = this.require(key);
    await this.stopOne(sup, reason);
    if (this.supervisors.get(key) !== sup) return;
    this.supervisors.delete(key);
    const { id } = sup.spec.manifest;
    if (!this.list().some((s) => s.spec.manifest.id === id)) {
      for (const [kind, owner] of this.kindOwners) if (owner.id === id) this.kindOwners.delete(kind);
    }
    for (const fn of this.removedListeners) {
      try {
        fn(sup);
      } catch (err) {
        this.options.logger.warn({ plugin: key, err: (err as Error).message }, "plugin-removed listener threw");
      }
    }
  }

  /** Register or replace a host service handler (plugin-to-host request). */
  setHostService(method: string, handler: HostServiceHandler): void {
    (this.ctx.hostServices as Record<string, HostServiceHandler>)[method] = handler;
  }

  get(key: string): PluginSupervisor | undefined {
    return this.supervisors.get(key);
  }

  /** The supervisor for `key`, or NEXO_ERR_HOST_PLUGIN_NOT_FOUND. */
  require(key: string): PluginSupervisor {
    const s = this.supervisors.get(key);
    if (!s) {
      throw new NexoError(ErrorCodes.HOST_PLUGIN_NOT_FOUND, `no plugin named ${key} (known: ${[...this.supervisors.keys()].join(", ") || "none"})`, { pluginId: key });
    }
    return s;
  }

  list(): PluginSupervisor[] {
    return [...this.supervisors.values()];
  }

  /** Start every registered plugin in parallel; one failure never stops the others. */
  async startAll(): Promise<StartReport> {
    const sups = this.list();
    const results = await Promise.allSettled(sups.map((s) => s.start()));
    const report: StartReport = { ready: [], failed: [] };
    results.forEach((r, i) => {
      const key = sups[i].key;
      if (r.status === "fulfilled") report.ready.push(key);
      else report.failed.push({ key, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    });
    return report;
  }

  /** Stop every plugin in parallel (shutdown request, grace, kill), then end the orphan watchdog. */
  async stopAll(reason = "daemon stopping"): Promise<void> {
    await Promise.allSettled(this.list().map((s) => this.stopOne(s, reason)));
    this.orphanGuard.close();
  }

  private async stopOne(sup: PluginSupervisor, reason: string): Promise<void> {
    await this.runBeforeStop(sup, reason);
    await sup.stop(reason);
  }

  private async runBeforeStop(sup: PluginSupervisor, reason: string): Promise<void> {
    for (const fn of this.beforeStopHooks) {
      try {
        await fn(sup, reason);
      } catch (err) {
        this.options.logger.warn({ plugin: sup.key, err: (err as Error).message }, "before-stop hook failed; stopping the plugin anyway");
      }
    }
  }

  /**
   * SIGKILL every running plugin's process group, synchronously: for the
   * daemon's last moments (`process.on("exit")`), when there is no time for
   * an orderly `stopAll`.
   */
  killAll(): void {
    for (const s of this.list()) s.connection?.kill();
    this.orphanGuard.close();
  }

  /** The orphan watchdog's pid and the plugin process groups it would kill (tests, diagnostics). */
  get orphanWatch(): { pid: number | undefined; groups: number[] } {
    return { pid: this.orphanGuard.pid, groups: this.orphanGuard.tracked };
  }

  /** Restart one plugin by key (before-stop hooks first: it is stopped on purpose). */
  async restart(key: string): Promise<PluginStatus> {
    const s = this.require(key);
    await this.runBeforeStop(s, "restart requested");
    await s.restart();
    return s.status();
  }

  status(): PluginStatus[] {
    return this.list().map((s) => s.status());
  }

  /** `tool.invoke` (or an upstream outbound tool's own `method`) on a plugin, with the contract's deadline unless given. */
  invokeTool(
    key: string,
    params: { tool_name: string; args: unknown; agent_id?: string | null },
    timeoutMs = this.ctx.timeouts.toolMs,
    method: string = Methods.TOOL_INVOKE,
  ): Promise<unknown> {
    const s = this.require(key);
    return s.call(method, { plugin_id: s.spec.manifest.id, tool_name: params.tool_name, args: params.args, agent_id: params.agent_id ?? null }, timeoutMs);
  }

  /** A topic-form tool call (docs/writing-plugins.md, Tools) on a plugin, with the contract's tool deadline unless given. */
  invokeTopicTool(
    key: string,
    params: { tool_name: string; args: unknown; agent_id?: string | null; session_id?: string | null },
    timeoutMs = this.ctx.timeouts.toolMs,
  ): Promise<unknown> {
    return this.require(key).callTopicTool(params.tool_name, params.args, { timeoutMs, agentId: params.agent_id ?? null, sessionId: params.session_id ?? null });
  }
}

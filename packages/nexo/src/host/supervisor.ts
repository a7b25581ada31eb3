import { Methods, newEvent } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { ExitOutcome } from "./child.js";
import { checkPluginConfig } from "./preflight.js";
import { PluginConnection, zeroCounters, type ConnectionCounters } from "./plugin-connection.js";
import { RestartPolicy } from "./restart-policy.js";
import { describePermissions, planPermissions, type PermissionPlan } from "./permissions/index.js";
import { describePlan, exitReason, type SandboxPlan } from "./sandbox/index.js";
import type { TopicCallOptions } from "./topic-tool-calls.js";
import { pluginKey, type HostContext, type PluginSpec, type PluginState, type PluginStatus, type PluginToolDescriptor } from "./types.js";

/** Source of every supervisor event (docs/contract.md, Supervisor events). */
export const SUPERVISOR_SOURCE = "plugin.supervisor";

/** Errors that mean "this plugin is misconfigured": respawning would not help. */
const PERMANENT_FAILURES = new Set<string>([
  ErrorCodes.HOST_ID_MISMATCH,
  ErrorCodes.HOST_TOOL_UNDECLARED,
  ErrorCodes.HOST_SPAWN_FAILED,
  ErrorCodes.HOST_REQUIREMENT_MISSING,
  ErrorCodes.HOST_CONFIG_INVALID,
  ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
  ErrorCodes.HOST_SANDBOX_REQUIRED,
  ErrorCodes.HOST_SANDBOX_DENIED,
]);

export interface SupervisorOptions {
  /** Uptime after which the crash counter resets. Default 60,000 ms. */
  stableAfterMs?: number;
  /** Random source for jitter (tests). */
  random?: () => number;
}

/**
 * Keeps one subprocess plugin running: starts it, respawns it after a crash
 * with doubling, jittered backoff per `[plugin.supervisor]`, gives up after
 * `max_attempts`, publishes `plugin.lifecycle.<key>.*`, and fails calls
 * pending on a dying plugin at once.
 */
export class PluginSupervisor {
  readonly key: string;
  private state: PluginState = "stopped";
  private conn: PluginConnection | undefined;
  private readonly policy: RestartPolicy;
  private readonly log: Logger;
  private restarts = 0;
  private lastExit: ExitOutcome | undefined;
  private lastError: string | null = null;
  private lastTail: string[] = [];
  private lastPlan: SandboxPlan | undefined;
  private lastExitReason: "oom" | "limit" | null = null;
  private limitExits = 0;
  private totals: ConnectionCounters = zeroCounters();
  private respawnTimer: NodeJS.Timeout | undefined;
  private respawnAt = 0;
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private generation = 0;
  private listeners = new Set<(status: PluginStatus) => void>();
  private readonly beforeStop = new Set<() => Promise<void>>();

  private currentSpec: PluginSpec;
  /** What the plugin may use beyond its channels; each run's connection decides the same from the same inputs. */
  readonly permissions: PermissionPlan;

  constructor(
    spec: PluginSpec,
    private readonly ctx: HostContext,
    options: SupervisorOptions = {},
  ) {
    this.currentSpec = spec;
    this.key = pluginKey(spec);
    this.log = ctx.logger.child({ plugin: this.key });
    this.permissions = planPermissions(spec.manifest, spec.grants, ctx.sandbox?.enforcePermissions ?? false);
    const s = spec.manifest.supervisor;
    this.policy = new RestartPolicy({
      respawn: s.respawn,
      maxAttempts: s.maxAttempts,
      backoffMs: s.backoffMs,
      ...(options.stableAfterMs !== undefined ? { stableAfterMs: options.stableAfterMs } : {}),
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** What this plugin runs: its manifest and the operator's settings (the config as of the last `reconfigure`). */
  get spec(): PluginSpec {
    return this.currentSpec;
  }

  /**
   * Give the plugin a new operator config: checked against its config
   * contract first (NEXO_ERR_HOST_CONFIG_INVALID, nothing changed), then kept
   * for every later spawn and sent to the running process as
   * `plugin.configure {value}`. True when the plugin took it, or when nothing
   * runs now (the next start configures it); false when it did not (an error
   * reply, -32601 from a plugin without a configure handler, no reply in
   * time, a process still starting with the old value, or a plugin that had
   * failed for good): restart it then.
   */
  async reconfigure(config: unknown): Promise<boolean> {
    const spec = { ...this.currentSpec, config };
    checkPluginConfig(spec);
    this.currentSpec = spec;
    if (this.state === "stopped") return true;
    const conn = this.connection;
    if (!conn) return false;
    try {
      await conn.call(Methods.PLUGIN_CONFIGURE, { value: config }, this.ctx.timeouts.configureMs);
      this.log.info("plugin reconfigured");
      return true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, code: (err as { code?: unknown }).code }, "plugin did not accept plugin.configure; it will be restarted with the new config");
      return false;
    }
  }

  /** The live connection, when ready. */
  get connection(): PluginConnection | undefined {
    return this.state === "ready" ? this.conn : undefined;
  }

  get currentState(): PluginState {
    return this.state;
  }

  /** Tools the running plugin serves (empty unless ready). */
  get tools(): PluginToolDescriptor[] {
    return this.conn?.init?.tools ?? [];
  }

  /** For an `http_server` plugin bridged out of a `network = "deny"` sandbox: the Unix socket its HTTP server is reached on. */
  get httpSocket(): string | undefined {
    return this.lastPlan?.httpSocket;
  }

  /** Called on every state change. Returns an unsubscribe function. */
  onStatus(fn: (status: PluginStatus) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Await `fn` before every orderly stop of the ready plugin (daemon stop,
   * restart, removal), while calls still reach it: e.g. `channel.stop`. `fn`
   * keeps its own deadline and never throws. Returns an unsubscribe function.
   */
  onBeforeStop(fn: () => Promise<void>): () => void {
    this.beforeStop.add(fn);
    return () => this.beforeStop.delete(fn);
  }

  /** Start the plugin; resolves when ready, rejects if the first start fails for good. */
  async start(): Promise<void> {
    if (this.state === "ready" || this.state === "starting") return this.waitReady();
    this.policy.reset();
    const ready = this.waitReady();
    void this.launch(0);
    return ready;
  }

  /** Stop the plugin (shutdown, grace, kill); cancels a pending respawn. */
  async stop(reason = "daemon stopping"): Promise<void> {
    if (this.state === "ready" && this.beforeStop.size > 0) await Promise.allSettled([...this.beforeStop].map((fn) => fn()));
    this.generation += 1;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    this.respawnTimer = undefined;
    const conn = this.conn;
    this.setState("stopped");
    this.rejectWaiters(new NexoError(ErrorCodes.HOST_PLUGIN_NOT_RUNNING, `plugin ${this.key} was stopped`, { pluginId: this.key }));
    if (conn && !conn.isExited) {
      const outcome = await conn.stop(reason);
      this.recordExit(conn, outcome);
    }
    await this.publishLifecycle("stopped", {});
  }

  /** Stop and start again, resetting the crash counter (`nexo plugin restart`). */
  async restart(): Promise<void> {
    await this.stop("restart requested");
    this.restarts += 1;
    await this.publishLifecycle("restarted_manually", {});
    await this.start();
  }

  /** Send a request to the plugin; fails fast with the retry error when it is not ready. */
  call(method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    return this.withConnection((conn) => conn.call(method, params, timeoutMs));
  }

  /** A request answered in streamed chunks first (see PluginConnection.callStreaming); same fail-fast rules as `call`. */
  callStreaming(method: string, params: unknown, timeoutMs: number, deltaMethod: string, onDelta: (chunk: unknown) => void, signal?: AbortSignal): Promise<unknown> {
    return this.withConnection((conn) => conn.callStreaming(method, params, timeoutMs, deltaMethod, onDelta, signal));
  }

  /**
   * Call one of the plugin's topic-form tools (`plugin.tool.<name>` and its
   * `.reply`); same fail-fast rules as `call`.
   */
  callTopicTool(name: string, args: unknown, options: TopicCallOptions): Promise<unknown> {
    return this.withConnection((conn) => conn.callTopicTool(name, args, options));
  }

  /** Send upstream's broker request `payload` on `topic` to the plugin (see BrokerRequests); same fail-fast rules as `call`. */
  requestOverBroker(topic: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    return this.withConnection((conn) => conn.requestOverBroker(topic, payload, timeoutMs));
  }

  /**
   * While a respawn is scheduled: milliseconds until the next attempt (at
   * least 1); undefined otherwise. Callers use it as a retry hint.
   */
  get retryAfterMs(): number | undefined {
    if (this.state === "starting") return 100;
    if (this.state !== "restarting") return undefined;
    return this.respawnTimer ? Math.max(1, this.respawnAt - Date.now()) : 100;
  }

  private withConnection(fn: (conn: PluginConnection) => Promise<unknown>): Promise<unknown> {
    const conn = this.connection;
    if (!conn) {
      const restarting = this.state === "restarting" || this.state === "starting";
      return Promise.reject(
        new NexoError(
          restarting ? ErrorCodes.HOST_PLUGIN_RESTARTED : ErrorCodes.HOST_PLUGIN_NOT_RUNNING,
          restarting ? `plugin ${this.key} restarted; retry` : `plugin ${this.key} is ${this.state}`,
          { pluginId: this.key },
        ),
      );
    }
    return fn(conn).catch((err: unknown) => {
      if (err instanceof NexoError && err.code === ErrorCodes.HOST_PLUGIN_EXITED) {
        throw new NexoError(ErrorCodes.HOST_PLUGIN_RESTARTED, `plugin ${this.key} restarted; retry`, { pluginId: this.key, cause: err });
      }
      throw err;
    });
  }

  /** Status as `nexo plugin status` shows it. */
  status(): PluginStatus {
    const c = this.conn;
    const live = c !== undefined && !c.isExited;
    const counters = c ? { ...c.counters, dropped: c.counters.dropped + (live ? c.subscriptionDrops : 0) } : zeroCounters();
    const m = this.spec.manifest;
    const route = this.ctx.describeRoute?.(this.key);
    return {
      key: this.key,
      id: m.id,
      instance: this.spec.instance ?? null,
      version: m.version,
      kind: "subprocess",
      state: this.state,
      pid: live ? c.pid : null,
      restarts: this.restarts,
      lastExitCode: this.lastExit?.exitCode ?? null,
      lastSignal: this.lastExit?.signal ?? null,
      lastError: this.lastError,
      startedAt: live ? new Date(c.startedAt).toISOString() : null,
      // Once a run has ended, its tail was kept in recordExit (also for a run that never got past initialize).
      stderrTail: live ? c.stderr.snapshot() : this.lastTail,
      droppedEvents: this.totals.dropped + counters.dropped,
      deniedPublishes: this.totals.denied + counters.denied,
      badFrames: this.totals.badFrames + counters.badFrames,
      stdinStalls: this.totals.stdinStalls + counters.stdinStalls,
      ioFaults: this.totals.ioFaults + counters.ioFaults,
      published: this.totals.published + counters.published,
      delivered: this.totals.delivered + counters.delivered,
      tools: this.tools.map((t) => t.name),
      channels: [...new Set([...m.channels.map((ch) => ch.kind), ...m.extends.channels])],
      manifest: m.file,
      ...(this.lastPlan ? describePlan(this.lastPlan) : { sandbox: "none", limits: "none" }),
      lastExitReason: this.lastExitReason,
      limitExits: this.limitExits,
      grants: describePermissions(this.permissions),
      permissionDenials: this.totals.permissionDenials + counters.permissionDenials,
      ...(route !== undefined ? { route } : {}),
    };
  }

  private waitReady(): Promise<void> {
    if (this.state === "ready") return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private rejectWaiters(err: Error): void {
    const w = this.readyWaiters;
    this.readyWaiters = [];
    for (const x of w) x.reject(err);
  }

  private async launch(attempt: number): Promise<void> {
    const gen = this.generation;
    this.setState(attempt === 0 ? "starting" : "restarting");
    let conn: PluginConnection | undefined;
    try {
      conn = await PluginConnection.spawn(this.spec, this.ctx);
      this.lastPlan = conn.plan;
      await conn.start();
    } catch (err) {
      // A run that failed before `initialize` completed still exited with a code and wrote stderr: keep both.
      let outcome: ExitOutcome = { exitCode: null, signal: null, forcefullyTerminated: false };
      let tail: string[] = [];
      if (conn) {
        outcome = await conn.exited;
        tail = conn.stderr.snapshot();
        this.recordExit(conn, outcome);
      }
      if (gen !== this.generation) return;
      const e = err instanceof Error ? err : new Error(String(err));
      this.lastError = e.message;
      this.log.error({ err: e.message, code: (e as NexoError).code, exitCode: outcome.exitCode, signal: outcome.signal }, "plugin failed to start");
      const permanent = e instanceof NexoError && PERMANENT_FAILURES.has(e.code);
      if (permanent) {
        this.fail(e);
        return;
      }
      await this.afterCrash(0, outcome, tail);
      return;
    }
    if (gen !== this.generation) {
      // stop() ran while we were starting: this connection is unwanted.
      void conn.stop("daemon stopping");
      return;
    }
    this.conn = conn;
    this.lastError = null;
    this.setState("ready");
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.resolve();
    if (attempt > 0) await this.publishLifecycle("respawned", { attempt });
    else await this.publishLifecycle("ready", { pid: conn.pid });
    void conn.exited.then((outcome) => {
      if (gen !== this.generation || this.conn !== conn) return;
      this.recordExit(conn, outcome);
      if (this.state === "stopped") return;
      if (conn.unhealthy) this.lastError = `plugin ${this.key} was restarted: ${conn.unhealthy}`;
      void this.afterCrash(Date.now() - conn.startedAt, outcome, conn.stderr.snapshot(), conn.unhealthy);
    });
  }

  private async afterCrash(uptimeMs: number, outcome: ExitOutcome, stderrTail: string[], unhealthy?: string): Promise<void> {
    const gen = this.generation;
    const reason = unhealthy ?? this.lastExitReason ?? undefined;
    this.log.warn(
      { exitCode: outcome.exitCode, signal: outcome.signal, uptimeMs, ...(reason ? { reason } : {}) },
      unhealthy ? "plugin killed as unhealthy" : reason === "limit" || reason === "oom" ? `plugin exited over its memory limit (${reason})` : "plugin exited unexpectedly",
    );
    await this.publishLifecycle("crashed", { exit_code: outcome.exitCode, signal: outcome.signal, stderr_tail: stderrTail, ...(reason ? { reason } : {}) });
    if (gen !== this.generation) return;
    const decision = this.policy.onCrash(uptimeMs);
    if (!decision.respawn) {
      this.fail(
        new NexoError(
          ErrorCodes.HOST_PLUGIN_EXITED,
          `plugin ${this.key} exited and will not be restarted (${decision.reason === "disabled" ? "respawn disabled" : `gave up after ${decision.attempt} attempts`})`,
          { pluginId: this.key, exitCode: outcome.exitCode },
        ),
      );
      if (decision.reason === "gave_up") await this.publishLifecycle("gave_up", { attempts: decision.attempt });
      return;
    }
    this.setState("restarting");
    this.restarts += 1;
    await this.publishLifecycle("respawning", { attempt: decision.attempt, backoff_ms: decision.delayMs });
    if (gen !== this.generation) return;
    this.respawnAt = Date.now() + decision.delayMs;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (gen === this.generation) void this.launch(decision.attempt);
    }, decision.delayMs);
  }

  private fail(err: Error): void {
    this.lastError = err.message;
    this.setState("failed");
    this.rejectWaiters(err);
  }

  private recordExit(conn: PluginConnection, outcome: ExitOutcome): void {
    this.lastExit = outcome;
    this.lastTail = conn.stderr.snapshot();
    this.lastExitReason = exitReason(conn.plan?.limits, this.lastTail, conn.cgroup?.oomKilled() ?? false);
    conn.cgroup?.remove();
    if (this.lastExitReason !== null) this.limitExits += 1;
    for (const k of Object.keys(this.totals) as Array<keyof ConnectionCounters>) {
      this.totals[k] += conn.counters[k];
      conn.counters[k] = 0;
    }
  }

  private setState(state: PluginState): void {
    if (this.state === state) return;
    this.state = state;
    const status = this.status();
    for (const fn of this.listeners) {
      try {
        fn(status);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "status listener threw");
      }
    }
  }

  private async publishLifecycle(what: string, payload: Record<string, unknown>): Promise<void> {
    const topic = `plugin.lifecycle.${this.key}.${what}`;
    try {
      await this.ctx.broker.publish(topic, newEvent(topic, SUPERVISOR_SOURCE, { plugin_id: this.spec.manifest.id, instance: this.spec.instance ?? null, ...payload }));
    } catch (err) {
      // A closed broker during shutdown is expected; anything else is worth a line.
      this.log.debug({ err: (err as Error).message, topic }, "could not publish lifecycle event");
    }
  }
}

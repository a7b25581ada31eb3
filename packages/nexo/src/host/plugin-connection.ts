import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { validatePattern, validateTopic, type Subscription } from "../broker/index.js";
import { completeEvent, Methods, RpcError, RpcErrorCodes, type Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { clipText, errorMessage } from "../util/index.js";
import { deriveAllowlist, isForeignChannelTopic, isPatternAllowed, isTopicAllowed, type Allowlist } from "./allowlist.js";
import { grantedBrokerPatterns, isGranted, permissionKind, planPermissions, type PermissionPlan } from "./permissions/index.js";
import { BrokerRequests, findSubscriber, httpRequestTopic } from "./broker-requests.js";
import { signalProcessGroup, waitForExit, type ExitOutcome } from "./child.js";
import { checkInitializeResult, type InitializeOutcome } from "./handshake.js";
import { launchPlugin } from "./launch.js";
import type { PluginCgroup, SandboxPlan } from "./sandbox/index.js";
import { LogThrottle } from "./log-throttle.js";
import { RpcPeer, type PeerProblem } from "./rpc-peer.js";
import { StderrTail } from "./stderr-tail.js";
import { topicFormTools, TopicToolCalls, type TopicCallOptions } from "./topic-tool-calls.js";
import { pluginKey, type HostContext, type PluginSpec } from "./types.js";
import { workQueue } from "./work-queue.js";
import { ownProperty } from "../util/index.js";

/** Characters of a plugin-provided string a log line keeps. */
const LOG_FIELD_CHARS = 200;

/** Most `broker.subscribe` subscriptions one plugin may hold. */
const MAX_PLUGIN_SUBSCRIPTIONS = 64;
/** Events one plugin subscription may hold while the plugin's stdin queue is full. */
const SUBSCRIPTION_BUFFER = 1024;
/** Log one line per this many drops of the same kind so a flood cannot flood the log. */
const DROP_LOG_EVERY = 1000;
/** Warnings about one kind of plugin mistake: 10 at once, then one per 10 s, per plugin and reason. */
const WARN_THROTTLE = { burst: 10, refillMs: 10_000 };
/** Plugin stderr forwarded to the log: 200 lines at once, then 10 a second. */
const STDERR_THROTTLE = { burst: 200, refillMs: 100 };

/** Counters of one connection. */
export interface ConnectionCounters {
  published: number;
  /** broker.publish / broker.subscribe refused (allowlist, invalid topic or event). */
  denied: number;
  delivered: number;
  dropped: number;
  /** Lines from the plugin dropped as bad frames (not JSON, too large, too deep, not JSON-RPC, unknown reply ...). */
  badFrames: number;
  /** Times the host restarted the plugin because it stopped reading its stdin. */
  stdinStalls: number;
  /** Lines whose handling threw inside the host (a host bug a plugin reached); the plugin is restarted. */
  ioFaults: number;
  /** Uses refused because the operator did not grant them (llm, memory, declared broker patterns). */
  permissionDenials: number;
}

/** A fresh set of zeroed counters. */
export function zeroCounters(): ConnectionCounters {
  return { published: 0, denied: 0, delivered: 0, dropped: 0, badFrames: 0, stdinStalls: 0, ioFaults: 0, permissionDenials: 0 };
}

/**
 * One run of a plugin child: spawn, `initialize` (deadline, id and tool checks),
 * `plugin.configure`, the broker bridge both ways, and a clean `shutdown`.
 * A new connection is made for every (re)start; the supervisor owns the sequence.
 */
export class PluginConnection {
  readonly key: string;
  readonly allowlist: Allowlist;
  readonly stderr: StderrTail;
  /** Resolves once the child has exited (for any reason). */
  readonly exited: Promise<ExitOutcome>;
  readonly startedAt = Date.now();
  init: InitializeOutcome | undefined;
  readonly counters: ConnectionCounters = zeroCounters();
  /** How this run is contained (sandbox, limits). */
  plan: SandboxPlan | undefined;
  /** This run's cgroup, when its limits live in one. */
  cgroup: PluginCgroup | null = null;
  /** Why the host killed this plugin as unhealthy, if it did. */
  unhealthy: string | undefined;
  /** What the plugin may use beyond its channels (src/host/permissions). */
  readonly permissions: PermissionPlan;

  private readonly peer: RpcPeer;
  private readonly log: Logger;
  private readonly subscriptions: Subscription[] = [];
  private readonly pluginSubscriptions = new Map<string, Subscription>();
  /** Pattern of each `broker.subscribe` subscription, by subscriber id. */
  private readonly pluginPatterns = new Map<string, string>();
  /** Topics only the host sends on (BrokerRequests): a plugin may subscribe to them, but not on the shared broker. */
  private readonly hostRequestTopics: readonly string[];
  private nextSubscriberId = 1;
  private forcefullyTerminated = false;
  private stopping: Promise<ExitOutcome> | undefined;
  private exitedFlag = false;
  private readonly warnings = new LogThrottle(WARN_THROTTLE);
  private readonly stderrLines = new LogThrottle(STDERR_THROTTLE);
  private readonly publishVerdicts = new Map<string, boolean>();
  /** The channel topics of the kinds this plugin owns (what its extra publish patterns cannot widen). */
  private readonly ownChannelTopics: readonly string[];
  /** Streamed requests in flight: request id -> where its `<method>.delta` chunks go. */
  private readonly streams = new Map<number, { deltaMethod: string; onDelta: (chunk: unknown) => void }>();
  /** Calls of this plugin's topic-form tools (docs/writing-plugins.md, Tools). */
  private readonly topicCalls: TopicToolCalls;
  /** Host requests in upstream's broker request/reply shape (`[plugin.http]` broker-RPC). */
  private readonly brokerRequests: BrokerRequests;

  private constructor(
    readonly spec: PluginSpec,
    private readonly ctx: HostContext,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    this.key = pluginKey(spec);
    this.log = ctx.logger.child({ plugin: this.key });
    const topicTools = topicFormTools(spec.manifest);
    this.permissions = planPermissions(spec.manifest, spec.grants, ctx.sandbox?.enforcePermissions ?? false);
    // Declared broker patterns the operator did not grant stay out of the allowlist.
    this.allowlist = channelAllowlist(spec, topicTools, grantedBrokerPatterns(this.permissions, spec.manifest.broker));
    this.ownChannelTopics = deriveAllowlist(ownKinds(spec), spec.instance).inbound;
    // Upstream's [plugin.http] without http_server: the plugin subscribes to its own request topic.
    this.hostRequestTopics = spec.manifest.http?.mode === "broker_rpc" ? [httpRequestTopic(spec.manifest.id)] : [];
    this.brokerRequests = new BrokerRequests(
      this.key,
      (topic) => findSubscriber(this.pluginPatterns, topic),
      (params, stillWanted) => this.deliverReliably(params, stillWanted),
    );
    this.topicCalls = new TopicToolCalls(this.key, topicTools, (params, stillWanted) => this.deliverReliably(params, stillWanted));
    this.stderr = new StderrTail(spec.manifest.supervisor.stderrTailLines, (line) => this.forwardStderr(line));
    // An 'error' without a listener would be thrown; the exit path reports what matters.
    child.on("error", (err) => this.warnThrottled("child_error", { err: err.message }, "plugin process error"));
    child.stdout.on("error", () => undefined);
    child.stderr.on("error", () => undefined);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => this.guard(() => this.stderr.push(chunk)));
    child.stderr.on("end", () => this.guard(() => this.stderr.end()));
    this.peer = new RpcPeer({
      pluginId: this.key,
      input: child.stdout,
      output: child.stdin,
      onRequest: (method, params, id) => this.onRequest(method, params, id),
      onNotification: (method, params) => this.onNotification(method, params),
      onProblem: (problem) => this.onBadFrame(problem),
      onFault: (err) => this.onFault(err),
      onStalled: (queue) => this.onStalled(queue),
    });
    if (child.pid !== undefined) ctx.processGroups?.track(child.pid);
    // Whatever the plugin started dies with it, at once: no stray process
    // outlives a run, nor keeps the plugin's pipes (and so its exit) open.
    child.once("exit", () => signalProcessGroup(child, "SIGKILL"));
    this.exited = waitForExit(child).then(({ exitCode, signal }) => {
      this.exitedFlag = true;
      if (child.pid !== undefined) ctx.processGroups?.untrack(child.pid);
      this.teardownBridge();
      const exited = new NexoError(ErrorCodes.HOST_PLUGIN_EXITED, `plugin ${this.key} exited (code ${exitCode}, signal ${signal}); retry`, {
        pluginId: this.key,
        exitCode,
        signal,
      });
      this.peer.close(exited);
      this.topicCalls.close(exited);
      this.brokerRequests.close(exited);
      return { exitCode, signal, forcefullyTerminated: this.forcefullyTerminated };
    });
  }

  /**
   * Spawn the plugin and complete the handshake. On any failure the child is
   * killed and the error (NEXO_ERR_HOST_*) names the plugin.
   */
  static async open(spec: PluginSpec, ctx: HostContext): Promise<PluginConnection> {
    const conn = await PluginConnection.spawn(spec, ctx);
    await conn.start();
    return conn;
  }

  /** Spawn the plugin without the handshake (`start()` does it). Rejects NEXO_ERR_HOST_SPAWN_FAILED. */
  static async spawn(spec: PluginSpec, ctx: HostContext): Promise<PluginConnection> {
    const { child, plan, cgroup } = await launchPlugin(spec, {
      stateRoot: ctx.stateRoot,
      nexoVersion: ctx.nexoVersion,
      ...(ctx.extraHostEnv ? { extraHostEnv: await ctx.extraHostEnv(spec) } : {}),
      ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
      ...(ctx.cgroups ? { cgroups: ctx.cgroups } : {}),
    });
    const conn = new PluginConnection(spec, ctx, child);
    conn.plan = plan;
    conn.cgroup = cgroup;
    return conn;
  }

  /**
   * The handshake; on failure the child is killed and its exit awaited before
   * the error is rethrown, so `exited` and `stderr` tell what happened.
   */
  async start(): Promise<void> {
    try {
      await this.handshake();
    } catch (err) {
      this.kill();
      await this.exited;
      throw err;
    }
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get isExited(): boolean {
    return this.exitedFlag;
  }

  /** Send a request to the plugin (e.g. `tool.invoke`). Fails at once if the plugin dies meanwhile. */
  call(method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    return this.peer.request(method, params, { timeoutMs });
  }

  /**
   * A request whose answer streams ahead of the reply as `deltaMethod
   * {request_id, chunk}` notifications (`llm.chat` and `llm.chat.delta`):
   * each chunk goes to `onDelta` until the reply settles the call. Once
   * `signal` aborts (the caller gave up on the answer), further chunks are
   * strays: counted and dropped.
   */
  async callStreaming(method: string, params: unknown, timeoutMs: number, deltaMethod: string, onDelta: (chunk: unknown) => void, signal?: AbortSignal): Promise<unknown> {
    let id: number | undefined;
    const stop = (): void => {
      if (id !== undefined) this.streams.delete(id);
    };
    signal?.addEventListener("abort", stop, { once: true });
    try {
      return await this.peer.request(method, params, { timeoutMs, onId: (i) => void (signal?.aborted || this.streams.set((id = i), { deltaMethod, onDelta })) });
    } finally {
      signal?.removeEventListener("abort", stop);
      stop();
    }
  }

  /**
   * Call a topic-form tool: `broker.event` on `plugin.tool.<name>` to this
   * plugin, settled by its reply on `plugin.tool.<name>.reply`. Fails at once
   * if the plugin dies meanwhile.
   */
  callTopicTool(name: string, args: unknown, options: TopicCallOptions): Promise<unknown> {
    return this.topicCalls.call(name, args, options);
  }

  /**
   * Send `payload` on `topic` to this plugin's own subscription as upstream's
   * broker request and resolve with the answer (see BrokerRequests). Fails at
   * once if the plugin dies meanwhile.
   */
  requestOverBroker(topic: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    return this.brokerRequests.request(topic, payload, timeoutMs);
  }

  /** A tool call must not be dropped like a broker event: wait for room in the stdin queue instead. */
  private async deliverReliably(params: unknown, stillWanted: () => boolean): Promise<void> {
    while (!this.peer.hasRoom) {
      if (this.exitedFlag) break;
      await this.peer.whenRoom();
    }
    if (!stillWanted()) return; // timed out while the plugin was not reading: do not hand it stale work
    if (this.exitedFlag || !this.deliver(params)) {
      throw new NexoError(ErrorCodes.HOST_PLUGIN_EXITED, `plugin ${this.key} exited; retry`, { pluginId: this.key });
    }
  }

  /**
   * Broker-side handler: forward now if the stdin queue has room, else wait for
   * room. While it waits, further events back up in this plugin's bounded
   * broker subscription (which drops and counts when full): a burst larger than
   * the stdin queue is absorbed instead of dropped, and memory stays bounded.
   */
  private forward(params: unknown): void | Promise<void> {
    if (this.peer.hasRoom) {
      this.deliver(params);
      return;
    }
    return this.peer.whenRoom().then(() => {
      if (!this.exitedFlag) this.deliver(params);
    });
  }

  /** Events dropped by this plugin's broker subscriptions (their buffers were full). */
  get subscriptionDrops(): number {
    let n = 0;
    for (const s of this.subscriptions) n += s.dropped;
    for (const s of this.pluginSubscriptions.values()) n += s.dropped;
    return n;
  }

  /** Deliver a broker event as a `broker.event` notification; false when dropped (queue full). */
  deliver(params: unknown): boolean {
    const ok = this.notifyOrLog(Methods.BROKER_EVENT, params);
    if (ok === undefined) {
      this.counters.dropped += 1;
      return false;
    }
    if (ok) {
      this.counters.delivered += 1;
    } else {
      this.counters.dropped += 1;
      if (this.counters.dropped === 1 || this.counters.dropped % DROP_LOG_EVERY === 0) {
        this.log.warn({ dropped: this.counters.dropped, queued: this.peer.queued }, "plugin is not keeping up: broker.event dropped (at-most-once)");
      }
    }
    return ok;
  }

  /** `peer.notify`, with a frame that can never be sent (too large, not JSON) logged with its reason: undefined then. */
  private notifyOrLog(method: string, params: unknown): boolean | undefined {
    try {
      return this.peer.notify(method, params);
    } catch (err) {
      const code = err instanceof NexoError ? err.code : undefined;
      this.log.warn({ method, code, reason: (err as Error).message }, `${method} not sent to the plugin: the frame cannot be written; dropped`);
      return undefined;
    }
  }

  /**
   * Ask the plugin to stop: `shutdown {reason}`, then after the reply (or its
   * deadline) wait the grace, then SIGTERM/SIGKILL. Idempotent.
   */
  stop(reason: string): Promise<ExitOutcome> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.teardownBridge();
      if (this.exitedFlag) return this.exited;
      const { shutdownReplyMs, killGraceMs } = this.ctx.timeouts;
      let replied = false;
      try {
        await this.peer.request(Methods.SHUTDOWN, { reason }, { timeoutMs: shutdownReplyMs, force: true });
        replied = true;
      } catch (err) {
        if (!this.exitedFlag) this.log.warn({ err: errorMessage(err) }, "plugin did not acknowledge shutdown");
      }
      if (await this.exitsWithin(killGraceMs)) return this.exited;
      if (!replied) {
        signalProcessGroup(this.child, "SIGTERM");
        if (await this.exitsWithin(killGraceMs)) return this.exited;
      }
      this.log.warn({ graceMs: killGraceMs }, "plugin still running after shutdown grace: SIGKILL");
      this.kill();
      return this.exited;
    })();
    return this.stopping;
  }

  /** SIGKILL the child (and its process group) now. */
  kill(): void {
    if (this.exitedFlag) return;
    this.forcefullyTerminated = true;
    signalProcessGroup(this.child, "SIGKILL");
  }

  /** Run a stream handler step; an exception is a fault, never an exception out of the stream. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.onFault(err);
    }
  }

  /**
   * Refuse or allow a use of `permission`. Enforced and not granted: counted,
   * logged once per plugin and permission kind, thrown as -32603 with
   * NEXO_ERR_HOST_PERMISSION_DENIED in the error data. Not enforced: allowed;
   * a use the manifest did not declare is logged once, so the operator sees
   * what enforcing would refuse.
   */
  private checkPermission(permission: string, fields: Record<string, unknown>): void {
    if (isGranted(this.permissions, permission)) {
      if (!this.permissions.enforced && !this.permissions.declared.includes(permission) && onceFor(this.spec, `undeclared:${permission}`)) {
        this.log.warn({ permission, ...fields }, `plugin uses ${permission} without declaring it in its manifest; with permissions.enforce it would be refused`);
      }
      return;
    }
    const r = this.permissionRefusal(permission, fields);
    throw new RpcError(r.code, r.message, r.data);
  }

  /** Count and log (once) an ungranted use; the refusal to answer a request with (a refused notification costs no Error object). */
  private permissionRefusal(permission: string, fields: Record<string, unknown>): Refusal {
    this.counters.permissionDenials += 1;
    const message = `plugin ${this.key} is not granted ${permission}: refused. The operator grants it in nexo.yaml (plugins.${this.spec.manifest.id}.grants)`;
    // Once per kind: a plugin cycling through topics must not grow the log, nor this set.
    if (onceFor(this.spec, `denied:${permissionKind(permission) ?? permission}`)) this.log.warn({ code: ErrorCodes.HOST_PERMISSION_DENIED, permission, ...fields }, message);
    return { code: RpcErrorCodes.INTERNAL_ERROR, message, data: { code: ErrorCodes.HOST_PERMISSION_DENIED, permission, plugin: this.key } };
  }

  /** Log a warning about a plugin mistake, rate-limited per `reason`. */
  private warnThrottled(reason: string, fields: Record<string, unknown>, msg: string): void {
    const line = this.warnings.take(reason);
    if (line) this.log.warn({ reason, ...fields, count: line.count, ...(line.suppressed > 0 ? { suppressed: line.suppressed } : {}) }, msg);
  }

  private forwardStderr(line: string): void {
    const t = this.stderrLines.take("stderr");
    if (t) this.log.info({ stream: "stderr", ...(t.suppressed > 0 ? { suppressed: t.suppressed } : {}) }, line);
  }

  private onBadFrame(problem: PeerProblem): void {
    this.counters.badFrames += 1;
    this.warnThrottled(problem.kind, { problem: problem.kind, preview: problem.preview, badFrames: this.counters.badFrames }, "dropped a bad frame from the plugin");
  }

  /**
   * Handling a line threw: the host's state for this plugin can no longer be
   * trusted, so the plugin is restarted (the daemon and other plugins go on).
   */
  private onFault(err: unknown): void {
    this.counters.badFrames += 1;
    this.counters.ioFaults += 1;
    const line = this.warnings.take("io_fault");
    if (line) this.log.error({ err: errorMessage(err), count: line.count }, "handling a line from the plugin failed; restarting the plugin");
    this.markUnhealthy("a line from the plugin made the host fail");
  }

  /** The plugin stopped reading its stdin while the host had replies for it: restart it. */
  private onStalled(queue: { frames: number; chars: number }): void {
    this.counters.stdinStalls += 1;
    this.log.warn({ queuedFrames: queue.frames, queuedChars: queue.chars }, "plugin stopped reading its stdin; replies are no longer queued; restarting the plugin");
    this.markUnhealthy(`stopped reading its stdin (${queue.frames} frames queued)`);
  }

  private markUnhealthy(reason: string): void {
    if (this.exitedFlag || this.unhealthy !== undefined) return;
    this.unhealthy = reason;
    this.teardownBridge();
    this.kill();
  }

  private async exitsWithin(ms: number): Promise<boolean> {
    if (this.exitedFlag) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const done = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }

  private async handshake(): Promise<void> {
    const { manifest } = this.spec;
    let result: unknown;
    try {
      result = await this.peer.request(Methods.INITIALIZE, { nexo_version: this.ctx.nexoVersion }, { timeoutMs: this.ctx.timeouts.initMs });
    } catch (err) {
      if (err instanceof NexoError && err.code === ErrorCodes.HOST_REQUEST_TIMEOUT) {
        throw new NexoError(ErrorCodes.HOST_INIT_TIMEOUT, `plugin ${this.key}: no initialize reply within ${this.ctx.timeouts.initMs} ms; killed`, {
          pluginId: this.key,
          cause: err,
        });
      }
      throw new NexoError(ErrorCodes.HOST_INIT_FAILED, `plugin ${this.key}: initialize failed: ${errorMessage(err)}`, { pluginId: this.key, cause: err });
    }
    this.init = checkInitializeResult(result, manifest);
    if (this.spec.config !== undefined) {
      try {
        await this.peer.request(Methods.PLUGIN_CONFIGURE, { value: this.spec.config }, { timeoutMs: this.ctx.timeouts.configureMs });
      } catch (err) {
        // -32601: a plugin without a configure handler; the contract makes the method optional.
        if (!(err instanceof RpcError && err.code === RpcErrorCodes.METHOD_NOT_FOUND)) {
          throw new NexoError(ErrorCodes.HOST_INIT_FAILED, `plugin ${this.key}: plugin.configure failed: ${errorMessage(err)}`, { pluginId: this.key, cause: err });
        }
      }
    }
    for (const pattern of this.allowlist.outbound) {
      this.subscriptions.push(
        this.ctx.broker.subscribe(pattern, (event) => this.forward({ topic: event.topic, event }), {
          name: `plugin:${this.key}`,
          queue: workQueue(this.key),
          bufferSize: SUBSCRIPTION_BUFFER,
        }),
      );
    }
    // `pid` is pino's own field (the daemon's); the plugin's goes under its own name.
    this.log.info({ plugin_pid: this.pid, serverVersion: this.init.serverVersion, tools: this.init.tools.map((t) => t.name) }, "plugin ready");
  }

  private teardownBridge(): void {
    this.counters.dropped += this.subscriptionDrops;
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions.length = 0;
    for (const s of this.pluginSubscriptions.values()) s.unsubscribe();
    this.pluginSubscriptions.clear();
    this.pluginPatterns.clear();
  }

  private onNotification(method: string, params: unknown): void {
    if (method === Methods.BROKER_PUBLISH) {
      // Refusals were counted and logged (throttled) where they were decided.
      this.publishFromPlugin(params).catch((err) => this.warnThrottled("publish_failed", { err: errorMessage(err) }, "broker.publish from the plugin failed"));
      return;
    }
    if (this.streams.size > 0 && isRecord(params) && typeof params.request_id === "number") {
      const stream = this.streams.get(params.request_id);
      if (stream && stream.deltaMethod === method) {
        try {
          stream.onDelta(params.chunk);
        } catch (err) {
          this.warnThrottled("delta_failed", { method, err: errorMessage(err) }, "a streamed chunk from the plugin could not be handled");
        }
        return;
      }
    }
    if (method.endsWith(".delta")) {
      // A chunk for a request that ended (or never was): a plugin streaming past its answer costs a counter, nothing kept.
      this.counters.badFrames += 1;
      this.warnThrottled("stray_delta", { method, badFrames: this.counters.badFrames }, "dropped a streamed chunk for no open request of the plugin");
      return;
    }
    // Other notifications (e.g. progress) have no host meaning yet: ignore, as JSON-RPC allows.
    this.log.debug({ method }, "ignored notification from plugin");
  }

  private async onRequest(method: string, params: unknown, requestId: string | number | null): Promise<unknown> {
    switch (method) {
      case Methods.BROKER_PUBLISH: {
        const refused = await this.publishFromPlugin(params);
        if (refused) throw new RpcError(refused.code, refused.message, refused.data);
        return { ok: true };
      }
      case Methods.BROKER_SUBSCRIBE:
        return this.subscribeForPlugin(params);
      case Methods.BROKER_UNSUBSCRIBE: {
        const id = isRecord(params) ? params.subscriber_id : undefined;
        if (typeof id !== "string") throw new RpcError(RpcErrorCodes.INVALID_PARAMS, "broker.unsubscribe needs a string subscriber_id");
        const sub = this.pluginSubscriptions.get(id);
        if (!sub && !this.pluginPatterns.has(id)) throw new RpcError(RpcErrorCodes.INVALID_PARAMS, `unknown subscriber_id ${id}`);
        sub?.unsubscribe();
        this.pluginSubscriptions.delete(id);
        this.pluginPatterns.delete(id);
        return { ok: true };
      }
      default: {
        const service = ownProperty(this.ctx.hostServices, method);
        const permission = ownProperty(SERVICE_PERMISSIONS, method);
        if (permission) this.checkPermission(permission, { method });
        if (service) {
          return service(params, { pluginKey: this.key, pluginId: this.spec.manifest.id, requestId, notify: (m, p) => this.notifyOrLog(m, p) === true });
        }
        if (method === Methods.MEMORY_RECALL || method === Methods.LLM_COMPLETE) {
          throw new RpcError(RpcErrorCodes.INTERNAL_ERROR, `${method} is not configured on this host`);
        }
        throw new RpcError(RpcErrorCodes.METHOD_NOT_FOUND, `method not found: ${method}`);
      }
    }
  }

  /**
   * Topic validity and allowlist in one check, memoized per plugin: a plugin
   * publishes on a handful of topics, so the hot path is one Map lookup.
   * An invalid topic comes back as the reason it is invalid.
   */
  private isPublishAllowed(topic: string): boolean | { invalid: string } {
    const known = this.publishVerdicts.get(topic);
    if (known !== undefined) return known;
    try {
      validateTopic(topic);
    } catch (err) {
      return { invalid: errorMessage(err) };
    }
    const verdict = isTopicAllowed(this.allowlist.inbound, topic) && !isForeignChannelTopic(topic, this.ownChannelTopics);
    if (this.publishVerdicts.size >= 1024) this.publishVerdicts.clear();
    this.publishVerdicts.set(topic, verdict);
    return verdict;
  }

  /**
   * Count a refused publish or subscribe and log it (throttled per reason).
   * Returns the refusal; only a request turns it into an error reply, so a
   * flood of refused notifications costs no Error objects.
   */
  private deny(reason: string, fields: Record<string, unknown>, message: string, data?: unknown, code: number = RpcErrorCodes.INVALID_PARAMS): Refusal {
    this.counters.denied += 1;
    const msg =
      reason === "topic_not_allowed" || reason === "foreign_channel"
        ? "broker.publish outside the plugin's allowlist: dropped"
        : reason === "subscribe_not_allowed"
          ? "broker.subscribe outside the plugin's allowlist: refused"
          : "broker request from the plugin refused";
    this.warnThrottled(reason, { ...fields, denied: this.counters.denied, err: clipText(message, LOG_FIELD_CHARS) }, msg);
    return data === undefined ? { code, message } : { code, message, data };
  }

  /**
   * Allowlist check, completion of missing event fields, the host's `source`
   * stamp, then publish. Subscribers see who really published: `source` is
   * this plugin's key; a different source the plugin wrote travels in
   * `metadata.plugin_source`.
   */
  private async publishFromPlugin(params: unknown): Promise<Refusal | undefined> {
    if (!isRecord(params) || typeof params.topic !== "string") {
      return this.deny("invalid_params", {}, "broker.publish needs {topic: string, event: object}");
    }
    const topic = params.topic;
    if (this.brokerRequests.isInbox(topic)) {
      // The answer to a host request goes to the host only, never onto the shared broker.
      this.brokerRequests.settle(topic, params.event);
      return undefined;
    }
    const allowed = this.isPublishAllowed(topic);
    if (allowed !== true) {
      if (allowed !== false) return this.deny("invalid_topic", { topic: clipText(topic, LOG_FIELD_CHARS) }, allowed.invalid);
      if (isForeignChannelTopic(topic, this.ownChannelTopics)) {
        return this.deny(
          "foreign_channel",
          { topic },
          `topic ${topic} belongs to a channel kind plugin ${this.key} does not own; a plugin speaks only for its own channel kinds, whatever its broker grants`,
          { reason: "foreign_channel", topic },
        );
      }
      if (isTopicAllowed(this.spec.manifest.broker.publish, topic)) {
        this.counters.denied += 1;
        return this.permissionRefusal(`broker.publish:${topic}`, { topic });
      }
      return this.deny("topic_not_allowed", { topic, allowed: this.allowlist.inbound }, `topic ${topic} is outside plugin ${this.key}'s allowlist`, {
        reason: "topic_not_allowed",
        topic,
      });
    }
    let event: Event;
    try {
      event = stampSource(completeEvent(params.event, topic, this.key), this.key);
    } catch (err) {
      return this.deny("invalid_event", { topic }, errorMessage(err));
    }
    if (this.topicCalls.isReplyTopic(topic)) {
      // A tool answer goes to its caller only, never onto the shared broker.
      try {
        if (this.topicCalls.settle(topic, event) === "late") this.log.debug({ topic, correlationId: event.correlation_id }, "late tool reply after the call timed out: dropped");
      } catch (err) {
        const rpc = err instanceof RpcError ? err : undefined;
        return this.deny("tool_reply_refused", { topic }, errorMessage(err), rpc?.data, rpc?.code);
      }
      return undefined;
    }
    this.counters.published += 1;
    await this.ctx.broker.publish(topic, event);
  }

  private subscribeForPlugin(params: unknown): { subscriber_id: string } {
    const pattern = isRecord(params) ? params.topic_pattern : undefined;
    if (typeof pattern !== "string") throw new RpcError(RpcErrorCodes.INVALID_PARAMS, "broker.subscribe needs a string topic_pattern");
    try {
      validatePattern(pattern);
    } catch (err) {
      throw new RpcError(RpcErrorCodes.INVALID_PARAMS, errorMessage(err));
    }
    const hostOnly = this.hostRequestTopics.includes(pattern);
    if (!hostOnly && !isPatternAllowed(this.allowlist.outbound, pattern)) {
      if (isPatternAllowed(this.spec.manifest.broker.subscribe, pattern)) {
        this.counters.denied += 1;
        const r = this.permissionRefusal(`broker.subscribe:${pattern}`, { pattern });
        throw new RpcError(r.code, r.message, r.data);
      }
      const r = this.deny("subscribe_not_allowed", { pattern }, `pattern ${pattern} is outside plugin ${this.key}'s allowlist`, { reason: "topic_not_allowed" });
      throw new RpcError(r.code, r.message, r.data);
    }
    if (this.pluginPatterns.size >= MAX_PLUGIN_SUBSCRIPTIONS) {
      throw new RpcError(RpcErrorCodes.INVALID_PARAMS, `at most ${MAX_PLUGIN_SUBSCRIPTIONS} subscriptions per plugin`);
    }
    const id = `sub-${this.nextSubscriberId++}`;
    this.pluginPatterns.set(id, pattern);
    // A host-only topic gets its events from BrokerRequests alone: nothing on the shared broker reaches it.
    if (hostOnly) return { subscriber_id: id };
    const sub = this.ctx.broker.subscribe(pattern, (event) => this.forward({ subscriber_id: id, topic: event.topic, event }), {
      name: `plugin:${this.key}:${id}`,
      // The subscriber id too: two subscriptions of one plugin on one pattern each get every event, as before.
      queue: workQueue(this.key, `${id} ${pattern}`),
      bufferSize: SUBSCRIPTION_BUFFER,
    });
    this.pluginSubscriptions.set(id, sub);
    return { subscriber_id: id };
  }
}

/**
 * The plugin's allowlist over every kind it registers or serves. The outbound
 * topics of a kind it serves (`[plugin.extends] channels`) reach it as
 * `channel.send_outbound` only (src/channels), so they are neither forwarded
 * as `broker.event` nor open to its `broker.subscribe`: one delivery per message.
 */
/** Every channel kind the plugin registers or serves. */
function ownKinds(spec: PluginSpec): string[] {
  return [...new Set([...spec.manifest.channels.map((c) => c.kind), ...spec.manifest.extends.channels])];
}

function channelAllowlist(spec: PluginSpec, topicTools: readonly string[], broker: PluginSpec["manifest"]["broker"]): Allowlist {
  const served = spec.manifest.extends.channels;
  const kinds = ownKinds(spec);
  const all = deriveAllowlist(kinds, spec.instance, topicTools, broker);
  if (served.length === 0) return all;
  const isServedOutbound = (p: string): boolean => {
    const s = p.split(".");
    return s[0] === "plugin" && s[1] === "outbound" && served.includes(s[2] ?? "");
  };
  return { inbound: all.inbound, outbound: all.outbound.filter((p) => !isServedOutbound(p)) };
}

/** Host services a plugin calls that need a permission. */
const SERVICE_PERMISSIONS: Record<string, string> = { [Methods.LLM_COMPLETE]: "llm", [Methods.MEMORY_RECALL]: "memory" };

/** What was already logged per plugin (kept across its restarts: the spec outlives each run). */
const loggedOnce = new WeakMap<PluginSpec, Set<string>>();

/** True the first time `what` is seen for `spec`. */
function onceFor(spec: PluginSpec, what: string): boolean {
  let seen = loggedOnce.get(spec);
  if (!seen) loggedOnce.set(spec, (seen = new Set()));
  if (seen.has(what)) return false;
  seen.add(what);
  return true;
}

/** A refused broker request: the error reply a request gets. */
interface Refusal {
  code: number;
  message: string;
  data?: unknown;
}

/** Field of `metadata` that keeps the `source` a plugin wrote when the host replaced it with the plugin's key. */
export const PLUGIN_SOURCE_METADATA = "plugin_source";

/** `event` with `source` set to `key`; a different source the plugin chose moves to `metadata.plugin_source`. */
function stampSource(event: Event, key: string): Event {
  if (event.source === key) return event;
  event.metadata = { ...(event.metadata ?? {}), [PLUGIN_SOURCE_METADATA]: event.source };
  event.source = key;
  return event;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

import { parse as parseToml } from "smol-toml";
import { BrokerSender, type HostLink, type SubscriptionHandler } from "./broker-sender.js";
import { RpcError, RpcErrorCodes, ToolError } from "./errors.js";
import { Event } from "./event.js";
import { FrameWriter, LineDecoder, MAX_FRAME_BYTES } from "./framing.js";
import { installStdoutGuard } from "./stdout-guard.js";
import type { ToolDef, ToolInvocation } from "./tools.js";

export interface ToolContext {
  broker: BrokerSender;
  /** Aborted when the plugin shuts down. */
  signal: AbortSignal;
}

/** Options of a plugin adapter; only `manifestToml` is required. */
export interface PluginAdapterOptions {
  /** The plugin's manifest text; `[plugin].id` and `version` are read from it. */
  manifestToml: string;
  /** Reported in `initialize`. Default `<id>-<version>`. */
  serverVersion?: string;
  /** Each `broker.event`, one at a time, in the order received. */
  onEvent?: (topic: string, event: Event, broker: BrokerSender) => void | Promise<void>;
  /** Runs during shutdown after in-flight handlers drained. */
  onShutdown?: () => void | Promise<void>;
  /** The operator's config (`plugin.configure {value}`); throw to refuse it. */
  onConfigure?: (value: unknown) => void | Promise<void>;
  /** Tools advertised in `initialize`. */
  tools?: ToolDef[];
  /** Handles `tool.invoke`; throw a ToolError subclass for a specific code. */
  onTool?: (invocation: ToolInvocation, ctx: ToolContext) => unknown | Promise<unknown>;
  /** Route stray stdout writes to stderr. Default true. */
  enableStdoutGuard?: boolean;
  /** Default 1 MiB. */
  maxFrameBytes?: number;
  /** Drain and exit 0 on SIGTERM/SIGINT. Default true. */
  handleProcessSignals?: boolean;
  /** Deadline of host calls (memory.recall, llm.complete, ...). Default 30,000 ms. */
  hostCallTimeoutMs?: number;
  /** Exit the process once shut down. Default true. */
  exitOnShutdown?: boolean;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Runs a plugin: speaks the contract on stdin/stdout, dispatches events and
 * tool calls to your handlers, and shuts down cleanly (drain, hook, reply, exit 0).
 * @example
 * const adapter = new PluginAdapter({ manifestToml, onEvent: async (topic, event, broker) => { ... } });
 * await adapter.run();
 */
export class PluginAdapter {
  readonly broker: BrokerSender;
  readonly manifest: Json;
  readonly pluginId: string;
  private readonly opts: PluginAdapterOptions;
  private writer!: FrameWriter;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout; onDelta?: (c: unknown) => void }>();
  private readonly subscriptions = new Map<string, SubscriptionHandler>();
  private readonly topicTools = new Map<string, (args: unknown, event: Event) => unknown | Promise<unknown>>();
  private eventChain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private shuttingDown: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private finish!: () => void;
  private uninstallGuard: (() => void) | undefined;
  private onData: ((c: Buffer) => void) | undefined;

  constructor(options: PluginAdapterOptions) {
    this.opts = options;
    this.manifest = parseToml(options.manifestToml) as Json;
    const plugin = isObj(this.manifest.plugin) ? this.manifest.plugin : {};
    if (typeof plugin.id !== "string") throw new Error("manifestToml has no [plugin].id");
    this.pluginId = plugin.id;
    const link: HostLink = {
      notify: (method, params) => this.send({ jsonrpc: "2.0", method, params }),
      request: (method, params, timeoutMs) => this.request(method, params, timeoutMs),
      streamRequest: (method, params, onDelta, timeoutMs) => this.request(method, params, timeoutMs, onDelta),
      addSubscription: (id, h) => void this.subscriptions.set(id, h),
      removeSubscription: (id) => void this.subscriptions.delete(id),
    };
    this.broker = new BrokerSender(link);
  }

  /**
   * Seed 000 pattern 3, topic form: answer calls arriving as events on
   * `plugin.tool.<name>` by publishing the handler's result on
   * `plugin.tool.<name>.reply` with the call's correlation id.
   */
  onTopicTool(name: string, handler: (args: unknown, event: Event) => unknown | Promise<unknown>): this {
    this.topicTools.set(`plugin.tool.${name}`, handler);
    return this;
  }

  /** Serve until shutdown, SIGTERM/SIGINT or stdin EOF; then drain and (by default) exit 0. */
  run(): Promise<void> {
    const done = new Promise<void>((r) => (this.finish = r));
    let rawWrite: (d: string) => boolean = (d) => process.stdout.write(d);
    if (this.opts.enableStdoutGuard !== false) {
      const g = installStdoutGuard();
      rawWrite = g.rawWrite;
      this.uninstallGuard = g.uninstall;
    }
    const max = this.opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.writer = new FrameWriter(rawWrite, (fn) => process.stdout.once("drain", fn), max);
    process.stdout.on("error", () => void this.shutdown(null, "stdout closed"));
    const decoder = new LineDecoder(
      max,
      (v) => this.dispatch(v),
      (kind, preview) => {
        this.log(`dropped a bad line from the host (${kind})${preview ? `: ${preview}` : ""}`);
        if (kind === "invalid_json") void this.send({ jsonrpc: "2.0", id: null, error: { code: RpcErrorCodes.PARSE_ERROR, message: "parse error" } });
      },
    );
    this.onData = (chunk: Buffer) => decoder.push(chunk);
    process.stdin.on("data", this.onData);
    process.stdin.on("end", () => {
      decoder.end();
      void this.shutdown(null, "stdin closed");
    });
    if (this.opts.handleProcessSignals !== false) {
      const onSignal = (sig: string): void => void this.shutdown(null, sig);
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
    }
    return done;
  }

  private log(message: string): void {
    process.stderr.write(`[${this.pluginId}] ${message}\n`);
  }

  private send(frame: unknown): Promise<void> {
    return this.writer.send(frame);
  }

  private reply(id: unknown, result: unknown): void {
    void this.send({ jsonrpc: "2.0", id, result: result === undefined ? null : result });
  }

  private replyError(id: unknown, code: number, message: string, data?: unknown): void {
    void this.send({ jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } });
  }

  private request(method: string, params: unknown, timeoutMs?: number, onDelta?: (c: unknown) => void): Promise<unknown> {
    if (this.shuttingDown) return Promise.reject(new Error(`plugin is shutting down; ${method} not sent`));
    const id = this.nextId++;
    const ms = timeoutMs ?? this.opts.hostCallTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const entry: { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout; onDelta?: (c: unknown) => void } = { resolve, reject };
      if (onDelta) entry.onDelta = onDelta;
      entry.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`host did not answer ${method} within ${ms} ms`));
      }, ms);
      this.pending.set(id, entry);
      this.send({ jsonrpc: "2.0", id, method, params }).catch((err: Error) => {
        clearTimeout(entry.timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  private dispatch(v: unknown): void {
    if (!isObj(v) || v.jsonrpc !== "2.0") {
      const id = isObj(v) && (typeof v.id === "number" || typeof v.id === "string") ? v.id : null;
      this.replyError(id, RpcErrorCodes.INVALID_REQUEST, "invalid JSON-RPC 2.0 frame");
      return;
    }
    if (typeof v.method !== "string") {
      // A response to one of our host calls.
      const p = typeof v.id === "number" ? this.pending.get(v.id) : undefined;
      if (!p) return;
      this.pending.delete(v.id as number);
      clearTimeout(p.timer);
      if (isObj(v.error)) p.reject(new RpcError(Number(v.error.code), String(v.error.message), v.error.data));
      else p.resolve(v.result);
      return;
    }
    const isRequest = "id" in v && v.id !== undefined;
    const method = v.method;
    const params = v.params;
    if (!isRequest) return this.onNotification(method, params);
    const id = v.id;
    if (this.shuttingDown && method !== "shutdown") return this.replyError(id, RpcErrorCodes.INTERNAL_ERROR, "plugin is shutting down");
    switch (method) {
      case "initialize":
        if (params !== undefined && !isObj(params)) return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "initialize params must be an object");
        return this.reply(id, {
          manifest: this.manifest,
          server_version: this.opts.serverVersion ?? `${this.pluginId}-${String((this.manifest.plugin as Json).version ?? "0.0.0")}`,
          ...(this.opts.tools && this.opts.tools.length ? { tools: this.opts.tools } : {}),
        });
      case "plugin.configure":
        if (!isObj(params) || !("value" in params)) return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "plugin.configure needs {value}");
        return void this.track(async () => {
          try {
            await this.opts.onConfigure?.(params.value);
            this.reply(id, { ok: true });
          } catch (err) {
            this.replyError(id, RpcErrorCodes.INVALID_PARAMS, `configuration refused: ${(err as Error).message}`);
          }
        });
      case "shutdown":
        if (params !== undefined && !isObj(params)) return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "shutdown params must be an object");
        return void this.shutdown(id, isObj(params) && typeof params.reason === "string" ? params.reason : "shutdown requested");
      case "tool.invoke":
        return this.onToolInvoke(id, params);
      default:
        return this.replyError(id, RpcErrorCodes.METHOD_NOT_FOUND, `method not found: ${method}`);
    }
  }

  private onNotification(method: string, params: unknown): void {
    if (method === "broker.event") {
      if (!isObj(params) || !isObj(params.event)) return this.log("broker.event without an event object ignored");
      const event = params.event as unknown as Event;
      const topic = typeof params.topic === "string" ? params.topic : event.topic;
      const subId = typeof params.subscriber_id === "string" ? params.subscriber_id : undefined;
      if (this.shuttingDown) return;
      // One chain keeps events strictly in arrival order.
      this.inFlight++;
      this.eventChain = this.eventChain
        .then(() => this.handleEvent(topic, event, subId))
        .catch((err) => this.log(`event handler failed: ${(err as Error)?.stack ?? err}`))
        .finally(() => this.done());
      return;
    }
    if (method === "llm.complete.delta" && isObj(params)) {
      const p = this.pending.get(Number(params.request_id));
      p?.onDelta?.(params.chunk);
    }
  }

  private async handleEvent(topic: string, event: Event, subId: string | undefined): Promise<void> {
    if (subId) {
      const h = this.subscriptions.get(subId);
      if (h) await h(topic, event);
      return;
    }
    const toolHandler = this.topicTools.get(topic);
    if (toolHandler) {
      const result = await toolHandler(event.payload, event);
      const replyTopic = `${topic}.reply`;
      await this.broker.publish(replyTopic, Event.new(replyTopic, this.pluginId, { result }, { correlationId: event.correlation_id ?? event.id, sessionId: event.session_id }));
      return;
    }
    await this.opts.onEvent?.(topic, event, this.broker);
  }

  private onToolInvoke(id: unknown, params: unknown): void {
    if (!isObj(params) || typeof params.tool_name !== "string") return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "tool.invoke needs {tool_name, args}");
    const onTool = this.opts.onTool;
    if (!onTool) return this.replyError(id, RpcErrorCodes.METHOD_NOT_FOUND, "this plugin has no tool handler");
    const invocation: ToolInvocation = {
      plugin_id: typeof params.plugin_id === "string" ? params.plugin_id : this.pluginId,
      tool_name: params.tool_name,
      args: isObj(params.args) ? params.args : {},
      agent_id: typeof params.agent_id === "string" ? params.agent_id : null,
    };
    void this.track(async () => {
      try {
        this.reply(id, await onTool(invocation, { broker: this.broker, signal: this.abort.signal }));
      } catch (err) {
        // Only typed tool errors choose their code; anything else (a host call's error included) is -33403.
        if (err instanceof ToolError) this.replyError(id, err.code, err.message, err.data);
        else this.replyError(id, RpcErrorCodes.TOOL_EXECUTION_FAILED, err instanceof Error ? err.message : String(err));
      }
    });
  }

  private async track(fn: () => Promise<void>): Promise<void> {
    this.inFlight++;
    try {
      await fn();
    } finally {
      this.done();
    }
  }

  private done(): void {
    this.inFlight--;
    if (this.inFlight === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const fn of w) fn();
    }
  }

  private drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop new work, fail own host calls, drain handlers, run the hook, reply (if asked), exit 0. */
  private shutdown(replyId: unknown | null, reason: string): Promise<void> {
    if (this.shuttingDown) {
      if (replyId !== null) void this.shuttingDown.then(() => this.reply(replyId, { ok: true }));
      return this.shuttingDown;
    }
    this.shuttingDown = (async () => {
      if (this.onData) process.stdin.off("data", this.onData);
      this.abort.abort(new Error(`shutdown: ${reason}`));
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new Error("plugin is shutting down"));
      }
      await this.drained();
      let hookError: unknown;
      try {
        await this.opts.onShutdown?.();
      } catch (err) {
        hookError = err;
        this.log(`shutdown hook failed: ${(err as Error)?.message ?? err}`);
      }
      if (replyId !== null) {
        if (hookError) this.replyError(replyId, RpcErrorCodes.SHUTDOWN_FAILED, `shutdown hook failed: ${(hookError as Error)?.message ?? hookError}`);
        else this.reply(replyId, { ok: true });
      }
      await this.writer.idle();
      process.stdin.pause();
      this.uninstallGuard?.();
      this.finish();
      if (this.opts.exitOnShutdown !== false) {
        // Let the reply reach the pipe before exiting.
        process.stdout.write("", () => process.exit(0));
      }
    })();
    return this.shuttingDown;
  }
}

import { extensionCall, extensionError, type ChannelHandlers, type HookHandler } from "./channels.js";
import { CONFORMANCE_PROBE_TOOL } from "./conformance-probe.js";
import { handlerScope } from "./context.js";
import { ManifestError, PluginError, RpcErrorCodes, ToolError } from "./errors.js";
import { Event } from "./event.js";
import { readFrames } from "./frame-reader.js";
import { NdjsonWriter } from "./frame-writer.js";
import { FrameTooLargeError, MAX_FRAME_BYTES } from "./framing.js";
import { BrokerSender, DEFAULT_HOST_CALL_TIMEOUT_MS, HostCalls, type SubscriptionHandler } from "./host-calls.js";
import { checkLlmChatParams, llmErrorReply, type LlmChatHandler } from "./llm-provider.js";
import { manifestExtendsTools, parseManifest } from "./manifest.js";
import { setStateDirPluginId } from "./state-dir.js";
import { installStdoutGuard } from "./stdout-guard.js";
import { replyTopic, toolDefToJson, toolTopic, type ToolDef, type ToolHandlerWithContext, type ToolInvocation, type TopicToolHandler } from "./tools.js";

export type { ToolContext } from "./tools.js";

/** An `onEvent` handler: each `broker.event` with a broker to publish and call the host. */
export type EventHandler = (topic: string, event: Event, broker: BrokerSender) => void | Promise<void>;
/** An `onShutdown` hook. */
export type ShutdownHandler = () => void | Promise<void>;

/** Options of a plugin adapter; only `manifestToml` is required. */
export interface PluginAdapterOptions {
  /** The plugin's manifest text; `[plugin].id` (required) and `version` are read from it. */
  manifestToml: string;
  /** Reported in `initialize`. Default `<id>-<version>`. */
  serverVersion?: string;
  /** Each `broker.event`, one at a time, in the order received. A throw is logged on stderr; the next event still runs. Events it publishes without a `correlation_id` get this event's id. */
  onEvent?: EventHandler;
  /** Runs during shutdown, after in-flight handlers drained. A throw makes the `shutdown` reply a -32000 error. */
  onShutdown?: ShutdownHandler;
  /** The operator's config (`plugin.configure {value}`); throw to refuse it (-32602 reply). */
  onConfigure?: (value: unknown) => void | Promise<void>;
  /** Tools advertised in `initialize` (omitted from the result when empty); each name must be in `[plugin.extends].tools` (ManifestError otherwise). */
  tools?: ToolDef[];
  /** Handles `tool.invoke`; throw a ToolError subclass for its code, anything else is -33403. Without a handler: -32601. Gets the context too. */
  onTool?: ToolHandlerWithContext;
  /** Handles `tool.invoke` with `(invocation, {broker, pluginId, signal})`; wins over `onTool` when both are set. */
  onToolWithContext?: ToolHandlerWithContext;
  /** Channel methods (`channel.start`, `channel.stop`, `channel.send_outbound`) for the kinds in `[plugin.extends] channels`. Without it they answer -32601. */
  channels?: ChannelHandlers;
  /** Answers `hook.on_hook` for the names in `[plugin.extends] hooks`; return a HookResponse or nothing (allow). Without it: -32601 (the host allows). */
  onHook?: HookHandler;
  /** Serves `llm.chat` for the providers the manifest lists in `[plugin.extends].llm_providers`; without it: -32601. Streamed requests send chunks with `ctx.emit`. */
  onLlmChat?: LlmChatHandler;
  /** Whether `session_id` may be any string (the Nexo host) or must be a UUID (an upstream host). Default: any string when the host set `NEXO_PLUGIN_KEY` (Nexo does). See `wireEvent`. */
  stringSessionIds?: boolean;
  /** Route stray stdout writes (console.log...) to stderr. Default true. */
  enableStdoutGuard?: boolean;
  /** Largest frame read or written. Default 1,048,576 (1 MiB). */
  maxFrameBytes?: number;
  /** Drain and exit 0 on SIGTERM/SIGINT. Default true. */
  handleProcessSignals?: boolean;
  /** Deadline of host calls (memory.recall, llm.complete, broker.subscribe...). Default 30,000 ms. */
  hostCallTimeoutMs?: number;
  /** `broker.event`s waiting for `onEvent`; beyond this, new ones are dropped and counted (at-most-once, like the host). Default 10,000. */
  maxQueuedEvents?: number;
  /** How long shutdown waits for in-flight handlers before running `onShutdown` anyway. Default 10,000 ms. */
  drainTimeoutMs?: number;
  /** Exit the process (code 0) once shut down. Default true; false lets tests or embedders keep the process. */
  exitOnShutdown?: boolean;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`PluginAdapter option ${name} must be a positive integer, got ${String(value)} (${typeof value})`);
  return value;
}

/**
 * Runs a plugin: speaks the contract on stdin/stdout, dispatches events and
 * tool calls to your handlers, and shuts down cleanly (drain, hook, reply, exit 0).
 * @example
 * const adapter = new PluginAdapter({ manifestToml, onEvent: async (topic, event, broker) => { ... } });
 * await adapter.run();
 */
export class PluginAdapter {
  /** Publish events and call host services; usable before `run()` resolves (frames queue until the writer starts). */
  readonly broker: BrokerSender;
  /** The whole parsed manifest, sent back in `initialize`. */
  readonly manifest: Json;
  /** `[plugin].id` of the manifest. */
  readonly pluginId: string;
  private readonly opts: PluginAdapterOptions;
  private readonly toolHandler: ToolHandlerWithContext | undefined;
  private readonly tools: ToolDef[];
  private readonly maxFrameBytes: number;
  private readonly maxQueuedEvents: number;
  private readonly drainTimeoutMs: number;
  private readonly calls: HostCalls;
  private writer: NdjsonWriter | undefined;
  private readonly beforeRun: Array<() => void> = [];
  private readonly subscriptions = new Map<string, SubscriptionHandler>();
  private readonly topicTools = new Map<string, TopicToolHandler>();
  private readonly served = new Map<string, (params: unknown) => unknown>();
  private eventChain: Promise<void> = Promise.resolve();
  private queuedEvents = 0;
  private droppedEvents = 0;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private shuttingDown: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly cleanups: Array<() => void> = [];
  private running = false;

  constructor(options: PluginAdapterOptions) {
    if (!isObj(options) || typeof options.manifestToml !== "string") throw new TypeError("PluginAdapter needs options.manifestToml (the manifest text)");
    this.opts = options;
    this.maxFrameBytes = positiveInt("maxFrameBytes", options.maxFrameBytes, MAX_FRAME_BYTES);
    this.maxQueuedEvents = positiveInt("maxQueuedEvents", options.maxQueuedEvents, 10_000);
    this.drainTimeoutMs = positiveInt("drainTimeoutMs", options.drainTimeoutMs, 10_000);
    const parsed = parseManifest(options.manifestToml);
    this.manifest = parsed.raw;
    this.pluginId = parsed.plugin.id;
    this.toolHandler = options.onToolWithContext ?? options.onTool;
    this.tools = checkedTools(options.tools ?? [], parsed.raw);
    setStateDirPluginId(this.pluginId);
    this.calls = new HostCalls((frame) => this.send(frame), positiveInt("hostCallTimeoutMs", options.hostCallTimeoutMs, DEFAULT_HOST_CALL_TIMEOUT_MS));
    this.broker = new BrokerSender({
      calls: this.calls,
      notify: (method, params) => this.send({ jsonrpc: "2.0", method, params }, true),
      addSubscription: (id, h) => void this.subscriptions.set(id, h),
      removeSubscription: (id) => void this.subscriptions.delete(id),
      stringSessionIds: options.stringSessionIds ?? process.env.NEXO_PLUGIN_KEY !== undefined,
    });
  }

  /**
   * Answer a host-to-plugin request the SDK has no option for (e.g. a memory
   * backend's `memory.vector_upsert|search|delete`). The handler's return
   * value is the result; a thrown error with a numeric `code` (and `data`)
   * answers that code, anything else -32603. Requests the SDK handles itself
   * (initialize, shutdown, tool.invoke, llm.chat...) cannot be replaced.
   * @example adapter.serve("memory.vector_search", async ({ collection, query, limit }) => ({ hits: await index.search(collection, query, limit) }));
   */
  serve(method: string, handler: (params: any) => unknown): this {
    if (typeof handler !== "function") throw new TypeError(`serve(${JSON.stringify(method)}) needs a handler function`);
    this.served.set(method, handler);
    return this;
  }

  /**
   * Serve a tool in the topic form of tools (docs/writing-plugins.md, Tools): a call arrives as
   * an event on `plugin.tool.<name>` (subscribe to it via the manifest or
   * `broker.subscribe`), and the handler's return value is published as
   * `{result}` (or `{error: {message}}` when it throws) on
   * `plugin.tool.<name>.reply`, with the call's correlation id (else its id)
   * and session id.
   * @example adapter.onTopicTool("stripe.create_invoice", async (args) => stripe.invoices.create(args))
   */
  onTopicTool(name: string, handler: TopicToolHandler): this {
    this.topicTools.set(toolTopic(name), handler);
    return this;
  }

  /** `broker.event`s dropped because `maxQueuedEvents` were already waiting. */
  get eventsDropped(): number {
    return this.droppedEvents;
  }

  /** Serve until `shutdown`, SIGTERM/SIGINT or stdin EOF; then drain, run `onShutdown` and (by default) exit 0. Call once. */
  run(): Promise<void> {
    if (this.running) return Promise.reject(new PluginError("PluginAdapter.run() was already called"));
    this.running = true;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.cleanups.push(() => finish());

    let rawWrite: (d: string) => boolean = (d) => process.stdout.write(d);
    if (this.opts.enableStdoutGuard !== false) {
      const g = installStdoutGuard();
      rawWrite = g.rawWrite;
      this.cleanups.push(g.uninstall);
    }
    const stdout = process.stdout;
    this.writer = new NdjsonWriter(
      { write: rawWrite, once: (event, listener) => stdout.once(event, listener) },
      {
        maxFrameBytes: this.maxFrameBytes,
        errors: { backlogFull: (n) => new Error(`stdout backlog full (${n} frames waiting for the host to read); frame dropped`) },
      },
    );
    // While more events wait behind the one being handled, their frames share writes.
    this.writer.holdWhile = () => this.inEventBurst();
    for (const fn of this.beforeRun.splice(0)) fn();

    const onStdoutError = (err: Error): void => {
      this.log(`stdout failed (${err.message}); shutting down`);
      void this.shutdown(null, "stdout closed");
    };
    process.stdout.on("error", onStdoutError);
    const reader = readFrames(
      process.stdin,
      {
        onFrame: (v) => this.dispatch(v),
        // A bad line is logged and dropped, never answered: it has no id to answer.
        onProblem: (p) => {
          if (p.kind === "too_large") this.log(`plugin: inbound frame ${p.bytes} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
          else this.log(`plugin: malformed jsonrpc line: ${p.reason}`);
        },
        onEnd: () => void this.shutdown(null, "stdin closed"),
      },
      // The whole length of an over-long line is logged, as the reference SDKs do.
      { maxFrameBytes: this.maxFrameBytes, reportOversize: "at_line_end" },
    );
    this.cleanups.push(() => {
      reader.dispose();
      process.stdout.off("error", onStdoutError);
      process.stdin.pause();
    });
    if (this.opts.handleProcessSignals !== false) {
      const onSignal = (sig: NodeJS.Signals): void => {
        // A second signal during the drain means "now": the operator gave up waiting.
        if (this.shuttingDown && this.opts.exitOnShutdown !== false) {
          this.log(`${sig} again while draining; exiting without waiting`);
          process.exit(1);
        }
        void this.shutdown(null, sig);
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      this.cleanups.push(() => {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      });
    }
    return done;
  }

  private log(message: string): void {
    process.stderr.write(`[${this.pluginId}] ${message}\n`);
  }

  /** Frames sent before `run()` (e.g. a publish from module top level) wait for the writer. */
  private send(frame: unknown, droppable = false): Promise<void> {
    if (this.writer) return this.writer.send(frame, droppable);
    return new Promise((resolve, reject) => this.beforeRun.push(() => this.writer!.send(frame, droppable).then(resolve, reject)));
  }

  /** Send a frame the SDK itself originates; a failure is logged, never an unhandled rejection. */
  private sendSafe(frame: unknown): void {
    this.send(frame).catch((err) => this.log(`could not send a frame: ${errText(err)}`));
  }

  /** `unserializable` is the answer when the result cannot be JSON (a tool's: -33403); one too large for a frame is -32603. */
  private reply(id: unknown, result: unknown, unserializable: { code: number; prefix: string } = { code: RpcErrorCodes.INTERNAL_ERROR, prefix: "reply not sent: " }): void {
    this.send({ jsonrpc: "2.0", id, result: result === undefined ? null : result }).catch((err) => {
      // The host's call still gets an answer, so it does not hang until its deadline.
      this.log(`reply to request ${JSON.stringify(id)} not sent: ${errText(err)}`);
      if (err instanceof FrameTooLargeError) this.replyError(id, RpcErrorCodes.INTERNAL_ERROR, `reply not sent: ${errText(err)}`);
      else this.replyError(id, unserializable.code, `${unserializable.prefix}${errText(err)}`);
    });
  }

  private replyError(id: unknown, code: number, message: string, data?: unknown): void {
    const error = data === undefined ? { code, message } : { code, message, data };
    this.send({ jsonrpc: "2.0", id, error }).catch((err) => {
      if (data === undefined) return this.log(`error reply to ${JSON.stringify(id)} not sent: ${errText(err)}`);
      this.sendSafe({ jsonrpc: "2.0", id, error: { code, message } });
    });
  }

  private dispatch(v: unknown): void {
    if (typeof v !== "object" || v === null) return this.log("plugin: jsonrpc frame must be an object");
    if (!isObj(v) || v.jsonrpc !== "2.0") {
      const id = isObj(v) && (typeof v.id === "number" || typeof v.id === "string") ? v.id : null;
      if (id === null) return this.log("plugin: jsonrpc frame is not a JSON-RPC 2.0 object; dropped");
      return this.replyError(id, RpcErrorCodes.INVALID_REQUEST, "invalid request: not a JSON-RPC 2.0 object");
    }
    if (v.method === undefined) {
      // A response to one of our host calls; one we no longer wait for (timed out) is dropped.
      if (!this.calls.onResponse(v)) this.log(`response to unknown request id ${JSON.stringify(v.id)} ignored`);
      return;
    }
    const hasId = v.id !== undefined;
    if (typeof v.method !== "string") {
      if (hasId) this.replyError(v.id, RpcErrorCodes.INVALID_REQUEST, "invalid request: method must be a string");
      return;
    }
    if (!hasId) return this.onNotification(v.method, v.params);
    this.onRequest(v.id, v.method, v.params);
  }

  private onRequest(id: unknown, method: string, params: unknown): void {
    if (this.shuttingDown && method !== "shutdown") return this.replyError(id, RpcErrorCodes.INTERNAL_ERROR, "plugin is shutting down");
    switch (method) {
      case "initialize": {
        if (params !== undefined && !isObj(params)) return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "initialize params must be an object ({nexo_version} or {})");
        if (isObj(params) && params.nexo_version !== undefined && typeof params.nexo_version !== "string") {
          return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "initialize params.nexo_version must be a string");
        }
        const plugin = this.manifest.plugin as Json;
        const tools = this.tools;
        return this.reply(id, {
          manifest: this.manifest,
          server_version: this.opts.serverVersion ?? `${this.pluginId}-${String(plugin.version ?? "0.0.0")}`,
          ...(tools.length > 0 ? { tools: tools.map(toolDefToJson) } : {}),
        });
      }
      case "plugin.configure": {
        if (!isObj(params) || !("value" in params)) return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "plugin.configure params must be {value}");
        return void this.track(async () => {
          try {
            await this.opts.onConfigure?.(params.value);
            this.reply(id, { ok: true });
          } catch (err) {
            this.replyError(id, RpcErrorCodes.INVALID_PARAMS, `configuration refused: ${errText(err)}`);
          }
        });
      }
      case "shutdown":
        if (params !== undefined && !isObj(params)) return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "shutdown params must be {reason}");
        return void this.shutdown(id, isObj(params) && typeof params.reason === "string" ? params.reason : "shutdown requested");
      case "tool.invoke":
        return this.onToolInvoke(id, params);
      case "llm.chat":
        return this.onLlmChat(id, params);
      default: {
        const handler = this.served.get(method);
        if (handler) return void this.track(() => this.answerServed(id, handler, params));
        const ext = extensionCall(
          method,
          params,
          { channels: this.opts.channels, onHook: this.opts.onHook },
          { broker: this.broker, pluginId: this.pluginId, signal: this.abort.signal },
        );
        if (!ext) return this.replyError(id, RpcErrorCodes.METHOD_NOT_FOUND, `method not found: ${method}`);
        return void this.track(async () => {
          try {
            this.reply(id, await ext());
          } catch (err) {
            const e = extensionError(err);
            this.replyError(id, e.code, e.message, e.data);
          }
        });
      }
    }
  }

  private onNotification(method: string, params: unknown): void {
    if (method === "broker.event") {
      if (!isObj(params) || !isObj(params.event)) return this.log("broker.event without an event object ignored");
      if (this.shuttingDown) return;
      if (this.queuedEvents >= this.maxQueuedEvents) {
        // Power-of-two counts keep the log bounded under a sustained flood.
        if ((++this.droppedEvents & (this.droppedEvents - 1)) === 0) this.log(`event backlog full (${this.maxQueuedEvents}); ${this.droppedEvents} event(s) dropped so far`);
        return;
      }
      const event = params.event as unknown as Event;
      const topic = typeof params.topic === "string" ? params.topic : String(event.topic);
      const subId = params.subscriber_id === undefined ? undefined : String(params.subscriber_id);
      const toolHandler = subId === undefined ? this.topicTools.get(topic) : undefined;
      if (toolHandler) {
        // Tool calls are independent requests, not an ordered stream: run them concurrently like tool.invoke.
        void this.track(() =>
          handlerScope
            .run({ eventId: typeof event.id === "string" ? event.id : undefined }, () => this.answerTopicTool(topic, event, toolHandler))
            .catch((err) => this.log(`reply on ${replyTopic(topic)} not sent: ${errText(err)}`)),
        );
        return;
      }
      this.queuedEvents++;
      this.inFlight++;
      // One promise chain keeps events strictly in arrival order, one handler at a time.
      this.eventChain = this.eventChain
        .then(() => this.handleEvent(topic, event, subId))
        .catch((err) => this.log(`event handler failed on ${topic}: ${(err as Error)?.stack ?? err}`))
        .finally(() => {
          this.queuedEvents--;
          if (!this.inEventBurst()) this.writer?.release();
          this.done();
        });
      return;
    }
    if (method === "llm.complete.delta") {
      if (!isObj(params)) return;
      try {
        this.calls.onDelta(params.request_id, params.chunk);
      } catch (err) {
        this.log(`onDelta handler failed: ${errText(err)}`);
      }
    }
    // Other notifications (future contract additions) are ignored, never answered.
  }

  /** More events are queued behind the one being handled. */
  private inEventBurst(): boolean {
    return this.queuedEvents > 1;
  }

  private handleEvent(topic: string, event: Event, subId: string | undefined): Promise<void> {
    return handlerScope.run({ eventId: typeof event.id === "string" ? event.id : undefined }, () => this.runEventHandler(topic, event, subId));
  }

  private async runEventHandler(topic: string, event: Event, subId: string | undefined): Promise<void> {
    if (subId !== undefined) {
      const h = this.subscriptions.get(subId);
      if (h) return void (await h(topic, event));
      // An event for a subscription the plugin dropped, or one it did not make via the SDK: the default handler gets it.
    }
    const toolHandler = this.topicTools.get(topic);
    if (toolHandler) return this.answerTopicTool(topic, event, toolHandler);
    await this.opts.onEvent?.(topic, event, this.broker);
  }

  private async answerTopicTool(topic: string, event: Event, handler: TopicToolHandler): Promise<void> {
    let payload: unknown;
    try {
      payload = { result: await handler(event.payload, event) };
    } catch (err) {
      payload = { error: err instanceof ToolError ? err.toJSON() : { code: RpcErrorCodes.TOOL_EXECUTION_FAILED, message: errText(err) } };
    }
    const out = replyTopic(topic);
    await this.broker.publish(out, Event.new(out, this.pluginId, payload, { correlationId: event.correlation_id ?? event.id, sessionId: event.session_id ?? null }));
  }

  private onToolInvoke(id: unknown, params: unknown): void {
    const onTool = this.toolHandler;
    // No handler is answered before the params are looked at, so the host learns the plugin has no tools at all.
    if (!onTool) return this.replyError(id, RpcErrorCodes.METHOD_NOT_FOUND, "method not found: tool.invoke");
    if (!isObj(params)) return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "tool.invoke params must be an object");
    if (typeof params.tool_name !== "string" || params.tool_name === "") return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, "tool.invoke params missing string `tool_name`");
    const pluginId = typeof params.plugin_id === "string" ? params.plugin_id : this.pluginId;
    const agentId = typeof params.agent_id === "string" ? params.agent_id : undefined;
    const invocation: ToolInvocation = {
      pluginId,
      toolName: params.tool_name,
      // Whatever JSON the caller sent, as sent; null when omitted.
      args: params.args === undefined ? null : params.args,
      ...(agentId === undefined ? {} : { agentId }),
      plugin_id: pluginId,
      tool_name: params.tool_name,
      agent_id: agentId ?? null,
    };
    void this.track(async () => {
      try {
        const result = await onTool(invocation, { broker: this.broker, pluginId: this.pluginId, signal: this.abort.signal });
        this.reply(id, result, { code: RpcErrorCodes.TOOL_EXECUTION_FAILED, prefix: "execution failed: tool result not JSON-serializable: " });
      } catch (err) {
        // Only typed tool errors choose their code; anything else (a host call's error included) is -33403.
        if (err instanceof ToolError) this.replyError(id, err.code, err.message, err.data);
        else this.replyError(id, RpcErrorCodes.TOOL_EXECUTION_FAILED, errText(err));
      }
    });
  }

  private async answerServed(id: unknown, handler: (params: unknown) => unknown, params: unknown): Promise<void> {
    try {
      this.reply(id, await handler(params));
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if (typeof code === "number" && Number.isInteger(code)) this.replyError(id, code, errText(err), (err as { data?: unknown }).data);
      else this.replyError(id, RpcErrorCodes.INTERNAL_ERROR, errText(err));
    }
  }

  private onLlmChat(id: unknown, raw: unknown): void {
    const handler = this.opts.onLlmChat;
    if (!handler) return this.replyError(id, RpcErrorCodes.METHOD_NOT_FOUND, "method not found: llm.chat");
    const params = checkLlmChatParams(raw);
    if (typeof params === "string") return this.replyError(id, RpcErrorCodes.INVALID_PARAMS, params);
    const emit = (chunk: unknown): void => {
      if (params.stream) void this.send({ jsonrpc: "2.0", method: "llm.chat.delta", params: { request_id: id, chunk } });
    };
    void this.track(async () => {
      try {
        this.reply(id, await handler(params, { stream: params.stream, emit, signal: this.abort.signal }));
      } catch (err) {
        const e = llmErrorReply(err);
        this.replyError(id, e.code, e.message, e.data);
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
    if (this.inFlight === 0) for (const fn of this.idleWaiters.splice(0)) fn();
  }

  /** Resolves when no handler runs, or after `drainTimeoutMs` (returns false then). */
  private drained(): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), this.drainTimeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stop new work, fail own host calls, drain handlers, run the hook, reply (if asked), exit 0. */
  private shutdown(replyId: unknown | null, reason: string): Promise<void> {
    if (this.shuttingDown) {
      if (replyId !== null) this.reply(replyId, { ok: true });
      return this.shuttingDown;
    }
    this.shuttingDown = (async () => {
      this.log(`shutting down (${reason})`);
      this.abort.abort(new Error(`shutdown: ${reason}`));
      // Handlers awaiting the host would otherwise hold the drain until their deadline.
      this.calls.close("plugin is shutting down");
      if (!(await this.drained())) this.log(`${this.inFlight} handler(s) still running after ${this.drainTimeoutMs} ms; shutting down anyway`);
      let hookError: unknown;
      try {
        await this.opts.onShutdown?.();
      } catch (err) {
        hookError = err ?? new Error("onShutdown threw");
        this.log(`shutdown hook failed: ${errText(err)}`);
      }
      if (replyId !== null) {
        if (hookError !== undefined) this.replyError(replyId, RpcErrorCodes.SHUTDOWN_FAILED, `shutdown hook failed: ${errText(hookError)}`);
        else this.reply(replyId, { ok: true });
      }
      await this.writer?.idle();
      for (const fn of this.cleanups.splice(0).reverse()) fn();
      if (this.opts.exitOnShutdown !== false) {
        // The empty write's callback fires once everything before it reached the pipe.
        process.stdout.write("", () => process.exit(0));
      }
    })();
    return this.shuttingDown;
  }
}

/** The tool list, each name checked against `[plugin.extends].tools` (the host refuses a plugin advertising others). */
function checkedTools(tools: ToolDef[], raw: Record<string, unknown>): ToolDef[] {
  // The conformance probe is added only under `nexo plugin test`, which does not check the manifest for it.
  const own = tools.filter((t) => t.name !== CONFORMANCE_PROBE_TOOL);
  if (own.length === 0) return [...tools];
  const allowed = manifestExtendsTools(raw);
  if (allowed === undefined) {
    throw new ManifestError(`tools are declared but the manifest has no [plugin.extends].tools list; declared: ${own.map((t) => t.name).join(", ")}`, "plugin.extends.tools");
  }
  const offenders = own.filter((t) => !allowed.includes(t.name)).map((t) => t.name);
  if (offenders.length > 0) {
    throw new ManifestError(`declared tool(s) not in [plugin.extends].tools [${allowed.join(", ")}]: ${offenders.join(", ")}`, "plugin.extends.tools");
  }
  return [...tools];
}

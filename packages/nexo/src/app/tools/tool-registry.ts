import { uuidv7 } from "nexo-plugin-sdk/contract";
import type { Broker } from "../../broker/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import { isTopicName, type PluginHost, type PluginSupervisor, type PluginToolDescriptor } from "../../host/index.js";
import type { Logger } from "../../log/index.js";
import { createAjv } from "../input-validator.js";
import type { ExecuteWorkflowOptions, WorkflowInfo } from "../types.js";
import { Limiter } from "../../util/index.js";
import { fromPluginError, fromWorkflowError, invalidArgs, toolError } from "./tool-errors.js";
import { publishToolEvent } from "./tool-events.js";
import { publicToolName } from "./tool-names.js";
import { toToolResult } from "./tool-result.js";
import { compileArgsCheck, normalizeInputSchema, type ArgsCheck } from "./tool-schema.js";
import type { CallToolOptions, RemoteTools, ToolCalledEvent, ToolInfo, ToolResult, ToolWire } from "./types.js";

/** What the registry needs from the app; closures, so the app's own instance methods (and their wrappers) are used. */
export interface ToolRegistryOptions {
  host: PluginHost;
  broker: Broker;
  logger: Logger;
  /** Registered workflows, in registration order. */
  listWorkflows: () => WorkflowInfo[];
  /** Runs a workflow through the app's middleware chain. */
  executeWorkflow: (name: string, inputs: unknown, options: ExecuteWorkflowOptions) => Promise<unknown>;
  /** The authorization gate for plugin tools (workflow tools are checked by `executeWorkflow`); throws when refused. */
  authorize?: (principal: CallToolOptions["principal"], name: string, surface: string) => void;
  /** Hands each ToolCalledEvent to the app's `onToolCalled` hooks. */
  onCalled?: (event: ToolCalledEvent) => void;
  /** Calls in flight to one plugin; more wait in a queue. Default 128 (below the host's 256-frame request queue). */
  maxInFlightPerPlugin?: number;
  /** Calls waiting for one plugin; more fail with NEXO_ERR_TOOL_UNAVAILABLE. Default 10,000. */
  maxQueuedPerPlugin?: number;
}

/** A plugin tool as compiled from one catalogue + the manifest's expose list. */
interface CompiledPluginTool {
  localName: string;
  description: string;
  inputSchema: Record<string, unknown>;
  wire: ToolWire;
  check: ArgsCheck;
  /** An upstream `[[plugin.tools.outbound]]` tool: the JSON-RPC method it is called with, and its own deadline. */
  method?: string;
  timeoutMs?: number;
}

type Entry =
  | { kind: "workflow"; info: ToolInfo }
  | { kind: "plugin"; info: ToolInfo; sup: PluginSupervisor; tool: CompiledPluginTool }
  | { kind: "remote"; info: ToolInfo; check: ArgsCheck; remote: RemoteTools };

const EMPTY_CATALOGUE: readonly PluginToolDescriptor[] = [];
const MAX_WARNED = 10_000;

/**
 * Every tool of the app under one name each: the tools of subprocess plugins
 * (their `initialize` catalogue, called with `tool.invoke`, and their
 * `[[plugin.tools.expose]]` list, called with `tool.invoke` when named in
 * `[plugin.extends].tools`, else over `plugin.tool.<name>` topics) and every
 * registered workflow. Arguments are checked against the tool's schema before
 * anything is sent. The list follows plugin status (only ready plugins' tools
 * are listed) and workflow registration; `onChanged` listeners hear about it.
 */
export class ToolRegistry {
  private entries = new Map<string, Entry>();
  private dirty = true;
  private scheduled = false;
  private fingerprint = "";
  private readonly compiled = new Map<PluginSupervisor, { catalogue: readonly PluginToolDescriptor[]; tools: CompiledPluginTool[] }>();
  private readonly limiters = new Map<PluginSupervisor, Limiter>();
  private readonly changeListeners = new Set<() => void>();
  private readonly warned = new Set<string>();
  private readonly disposers: Array<() => void> = [];
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private remote: RemoteTools | undefined;
  /** Compiled argument checks of remote tools, by schema text (the same plugin on many daemons compiles once). */
  private remoteChecks = new Map<string, ArgsCheck | null>();

  constructor(private readonly options: ToolRegistryOptions) {
    this.maxInFlight = options.maxInFlightPerPlugin ?? 128;
    this.maxQueued = options.maxQueuedPerPlugin ?? 10_000;
    for (const sup of options.host.list()) this.follow(sup);
    this.disposers.push(
      options.host.onPluginAdded((sup) => {
        this.follow(sup);
        this.invalidate();
      }),
      options.host.onPluginRemoved((sup) => {
        this.compiled.delete(sup);
        this.limiters.delete(sup);
        this.invalidate();
      }),
    );
  }

  /** Mark the list stale (a workflow was added or removed); listeners are told on the next microtask if it changed. */
  invalidate(): void {
    this.dirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.refresh();
    });
  }

  /** Offer the tools of other daemons too (cluster routing). Returns the detach. */
  setRemote(remote: RemoteTools): () => void {
    this.remote = remote;
    const off = remote.onChanged(() => this.invalidate());
    this.invalidate();
    return () => {
      off();
      if (this.remote === remote) this.remote = undefined;
      this.invalidate();
    };
  }

  /** This daemon's own callable tools (what it announces to a cluster). */
  listLocal(): ToolInfo[] {
    return this.list().filter((t) => t.node === undefined);
  }

  /** Called (coalesced) whenever the listed tools change: a plugin became ready or went away, a workflow came or went. */
  onChanged(fn: () => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /** Tools that can be called now (workflows, and tools of ready plugins), workflows first, then plugins in host order. */
  list(): ToolInfo[] {
    this.ensureFresh();
    const out: ToolInfo[] = [];
    for (const e of this.entries.values()) if (isAvailable(e)) out.push(e.info);
    return out;
  }

  /** One callable tool's description, or undefined. */
  get(name: string): ToolInfo | undefined {
    this.ensureFresh();
    const e = this.entries.get(name);
    return e && isAvailable(e) ? e.info : undefined;
  }

  /**
   * Call tool `name`. Resolves with its result (`is_error: true` included);
   * rejects with a NEXO_ERR_TOOL_* NexoError carrying the contract code in
   * `details.rpcCode` and ToolErrorData in `details.data` (see tool-errors.ts).
   */
  async call(name: string, args: unknown, options: CallToolOptions = {}): Promise<ToolResult> {
    this.ensureFresh();
    const entry = this.entries.get(name);
    if (!entry || (options.localOnly === true && entry.kind === "remote")) throw toolError(ErrorCodes.TOOL_NOT_FOUND, `no tool named "${name}"`, { tool: name });
    const channel = options.channel;
    // Workflows are checked by executeWorkflow; a call another daemon of the cluster forwards (localOnly) was checked there, at its edge.
    if (entry.kind !== "workflow" && channel !== undefined && channel !== "local" && options.localOnly !== true) this.options.authorize?.(options.principal, name, channel);
    const timeoutMs = options.timeoutMs ?? this.options.host.timeouts.toolMs;
    if (typeof timeoutMs !== "number" || !(timeoutMs > 0)) {
      throw new NexoError(
        ErrorCodes.CONFIG_INVALID,
        `callTool option timeoutMs must be a positive number of milliseconds, got ${JSON.stringify(timeoutMs)} (${typeof timeoutMs})`,
        {
          field: "timeoutMs",
        },
      );
    }
    const t0 = performance.now();
    const timestamp = new Date().toISOString();
    const callId = uuidv7();
    try {
      const result =
        entry.kind === "plugin"
          ? await this.callPlugin(entry, args, options, timeoutMs)
          : entry.kind === "remote"
            ? await this.callRemote(entry, args, options, timeoutMs)
            : await this.callWorkflow(entry, args, options, timeoutMs);
      this.emit(entry, callId, options, t0, timestamp, result, undefined);
      return result;
    } catch (err) {
      const e = err instanceof NexoError ? err : toolError(ErrorCodes.TOOL_EXECUTION_FAILED, String(err), { tool: name }, err);
      this.emit(entry, callId, options, t0, timestamp, undefined, e);
      throw e;
    }
  }

  /** Stop following the host (the app is being discarded). */
  dispose(): void {
    for (const d of this.disposers.splice(0)) d();
    this.changeListeners.clear();
  }

  // ---- calls -------------------------------------------------------------

  private async callPlugin(entry: Extract<Entry, { kind: "plugin" }>, args: unknown, options: CallToolOptions, timeoutMs: number): Promise<ToolResult> {
    const { info, sup, tool } = entry;
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      throw invalidArgs(info.name, [{ path: "", message: `must be object (got ${args === null ? "null" : Array.isArray(args) ? "array" : typeof args})` }]);
    }
    const violations = tool.check(args as Record<string, unknown>);
    if (violations) throw invalidArgs(info.name, violations);
    if (sup.currentState !== "ready") throw this.unavailable(info.name, sup);
    const limiter = this.limiterFor(sup);
    let remaining = timeoutMs;
    const slot = limiter.acquire(timeoutMs);
    if (slot !== true) {
      const waitStart = performance.now();
      try {
        await slot;
      } catch (why) {
        if (why === "timeout")
          throw toolError(ErrorCodes.TOOL_TIMEOUT, `tool "${info.name}" waited ${timeoutMs} ms for a free slot (plugin ${sup.key} has ${limiter.maxInFlight} calls in flight)`, {
            tool: info.name,
          });
        throw toolError(ErrorCodes.TOOL_UNAVAILABLE, `plugin ${sup.key} has ${limiter.queued} tool calls waiting; try again shortly`, { tool: info.name, retryAfterMs: 100 });
      }
      remaining = Math.max(1, timeoutMs - (performance.now() - waitStart));
    }
    let raw: unknown;
    try {
      const agentId = options.agentId ?? null;
      raw =
        tool.wire === "tool.invoke"
          ? await this.options.host.invokeTool(sup.key, { tool_name: tool.localName, args, agent_id: agentId }, Math.min(remaining, tool.timeoutMs ?? remaining), tool.method)
          : await this.options.host.invokeTopicTool(sup.key, { tool_name: tool.localName, args, agent_id: agentId, session_id: options.sessionId ?? null }, remaining);
    } catch (err) {
      throw fromPluginError(info.name, err, sup.retryAfterMs ?? sup.spec.manifest.supervisor.backoffMs);
    } finally {
      limiter.release();
    }
    return toToolResult(raw);
  }

  private async callRemote(entry: Extract<Entry, { kind: "remote" }>, args: unknown, options: CallToolOptions, timeoutMs: number): Promise<ToolResult> {
    const { info } = entry;
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      throw invalidArgs(info.name, [{ path: "", message: `must be object (got ${args === null ? "null" : Array.isArray(args) ? "array" : typeof args})` }]);
    }
    const violations = entry.check(args as Record<string, unknown>);
    if (violations) throw invalidArgs(info.name, violations);
    return entry.remote.call(info, args as Record<string, unknown>, options, timeoutMs);
  }

  private async callWorkflow(entry: Extract<Entry, { kind: "workflow" }>, args: unknown, options: CallToolOptions, timeoutMs: number): Promise<ToolResult> {
    const name = entry.info.name;
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(toolError(ErrorCodes.TOOL_TIMEOUT, `tool "${name}" (a workflow) did not finish within ${timeoutMs} ms`, { tool: name })),
      timeoutMs,
    );
    const external = options.signal;
    const onAbort = (): void => controller.abort(external?.reason);
    if (external?.aborted) controller.abort(external.reason);
    else external?.addEventListener("abort", onAbort, { once: true });
    try {
      const result = await this.options.executeWorkflow(name, args, {
        channel: options.channel ?? "local",
        sessionId: options.sessionId ?? null,
        ...(options.principal ? { principal: options.principal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        signal: controller.signal,
      });
      return toToolResult(result);
    } catch (err) {
      const errorId = uuidv7();
      if (!(err instanceof NexoError)) this.options.logger.error({ err, errorId, tool: name }, `workflow tool "${name}" threw`);
      throw fromWorkflowError(name, err, errorId);
    } finally {
      clearTimeout(timer);
      external?.removeEventListener("abort", onAbort);
    }
  }

  private unavailable(tool: string, sup: PluginSupervisor): NexoError {
    const retryAfterMs = sup.retryAfterMs;
    const state = sup.currentState;
    return retryAfterMs === undefined
      ? toolError(ErrorCodes.TOOL_UNAVAILABLE, `tool "${tool}" is unavailable: plugin ${sup.key} is ${state}`, { tool })
      : toolError(ErrorCodes.TOOL_UNAVAILABLE, `tool "${tool}" is unavailable while plugin ${sup.key} is ${state}; retry in ${retryAfterMs} ms`, { tool, retryAfterMs });
  }

  private limiterFor(sup: PluginSupervisor): Limiter {
    let l = this.limiters.get(sup);
    if (!l) {
      l = new Limiter(this.maxInFlight, this.maxQueued);
      this.limiters.set(sup, l);
    }
    return l;
  }

  private emit(entry: Entry, callId: string, options: CallToolOptions, t0: number, timestamp: string, result: ToolResult | undefined, error: NexoError | undefined): void {
    const event: ToolCalledEvent = {
      callId,
      toolName: entry.info.name,
      source: entry.info.source,
      plugin: entry.kind === "plugin" ? entry.sup.key : entry.kind === "remote" ? (entry.info.plugin ?? null) : null,
      channel: options.channel ?? "local",
      sessionId: options.sessionId ?? null,
      agentId: options.agentId ?? null,
      ok: error === undefined,
      isError: result?.is_error === true,
      duration: (performance.now() - t0) / 1000,
      timestamp,
    };
    if (entry.kind === "remote" && entry.info.node !== undefined) event.node = entry.info.node;
    if (error) event.error = { code: error.code, message: error.message };
    this.options.onCalled?.(event);
    // One fact, one event in the cluster: a forwarded call's event is the calling daemon's to publish.
    if (options.forwardedBy === undefined) publishToolEvent(this.options.broker, this.options.logger, event);
  }

  // ---- the list ----------------------------------------------------------

  private follow(sup: PluginSupervisor): void {
    this.disposers.push(sup.onStatus(() => this.invalidate()));
  }

  private ensureFresh(): void {
    if (this.dirty) this.rebuild();
  }

  private refresh(): void {
    this.ensureFresh();
    const fp = JSON.stringify(this.list());
    if (fp === this.fingerprint) return;
    this.fingerprint = fp;
    for (const fn of this.changeListeners) {
      try {
        fn();
      } catch (err) {
        this.options.logger.warn({ err }, "tools-changed listener threw");
      }
    }
  }

  /** Workflows first (an app's own names win), then each plugin in host order; a clashing name keeps its first owner. */
  private rebuild(): void {
    const next = new Map<string, Entry>();
    for (const w of this.options.listWorkflows()) {
      const inputSchema = normalizeInputSchema(w.inputSchema);
      if (!inputSchema) {
        this.warnOnce(
          `wf-schema:${w.name}`,
          { code: ErrorCodes.TOOL_INVALID_SCHEMA, tool: w.name },
          `workflow "${w.name}" is not offered as a tool: its inputSchema does not describe an object`,
        );
        continue;
      }
      next.set(w.name, { kind: "workflow", info: { name: w.name, description: w.description, inputSchema, source: "workflow" } });
    }
    for (const sup of this.options.host.list()) {
      for (const tool of this.compiledTools(sup)) {
        const name = publicToolName(sup.key, tool.localName);
        if (name === undefined) {
          this.warnOnce(
            `long:${sup.key}:${tool.localName}`,
            { code: ErrorCodes.TOOL_NAME_CONFLICT, plugin: sup.key, tool: tool.localName },
            `tool "${tool.localName}" of plugin ${sup.key} is not offered: its public name would exceed 128 characters`,
          );
          continue;
        }
        const taken = next.get(name);
        if (taken) {
          const owner = taken.kind === "plugin" ? `tool "${taken.tool.localName}" of plugin ${taken.sup.key}` : `workflow "${name}"`;
          this.warnOnce(
            `clash:${name}:${sup.key}:${tool.localName}`,
            { code: ErrorCodes.TOOL_NAME_CONFLICT, plugin: sup.key, tool: tool.localName, name },
            `tool "${tool.localName}" of plugin ${sup.key} is not offered: its public name "${name}" is taken by ${owner}`,
          );
          continue;
        }
        next.set(name, {
          kind: "plugin",
          info: { name, description: tool.description, inputSchema: tool.inputSchema, source: "plugin", plugin: sup.key, pluginTool: tool.localName, wire: tool.wire },
          sup,
          tool,
        });
      }
    }
    if (this.remote) this.addRemote(next, this.remote);
    this.entries = next;
    this.dirty = false;
  }

  /** Tools of other daemons whose names this daemon does not use itself. */
  private addRemote(next: Map<string, Entry>, remote: RemoteTools): void {
    let ajv: ReturnType<typeof createAjv> | undefined;
    if (this.remoteChecks.size > 1000) this.remoteChecks = new Map();
    for (const info of remote.list()) {
      if (next.has(info.name)) continue;
      const key = JSON.stringify(info.inputSchema);
      let check = this.remoteChecks.get(key);
      if (check === undefined) {
        try {
          ajv ??= createAjv();
          check = compileArgsCheck(ajv, info.inputSchema);
        } catch {
          check = null;
        }
        this.remoteChecks.set(key, check);
      }
      if (check === null) {
        this.warnOnce(
          `remote-schema:${info.node}:${info.name}`,
          { code: ErrorCodes.TOOL_INVALID_SCHEMA, tool: info.name, node: info.node },
          `tool "${info.name}" of daemon ${info.node} is not offered: its input schema does not compile here`,
        );
        continue;
      }
      next.set(info.name, { kind: "remote", info, check, remote });
    }
  }

  /**
   * A plugin's tools from its last `initialize` catalogue (kept while it
   * restarts) and its manifest's expose list, schemas compiled with a fresh
   * ajv per catalogue (a restarted plugin may change its schemas).
   */
  private compiledTools(sup: PluginSupervisor): CompiledPluginTool[] {
    const current = sup.tools;
    const catalogue = current.length === 0 ? EMPTY_CATALOGUE : current;
    const cached = this.compiled.get(sup);
    if (cached && cached.catalogue === catalogue) return cached.tools;
    const manifest = sup.spec.manifest;
    const invoked = new Set(manifest.extends.tools);
    const raw = new Map<string, { description: string; schema: unknown; wire: ToolWire; method?: string; timeoutMs?: number }>();
    for (const t of catalogue) raw.set(t.name, { description: t.description, schema: t.inputSchema, wire: "tool.invoke" });
    // Upstream outbound tools: the manifest carries the whole spec, the plugin's catalogue need not list them.
    for (const o of manifest.toolsOutbound) {
      raw.set(o.name, {
        description: o.description,
        schema: o.inputSchema,
        wire: "tool.invoke",
        method: o.rpcMethod,
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      });
    }
    for (const e of manifest.toolsExpose) {
      const wire: ToolWire = invoked.has(e.name) ? "tool.invoke" : "topic";
      if (wire === "topic" && !isTopicName(e.name)) {
        this.warnOnce(
          `topic:${sup.key}:${e.name}`,
          { code: ErrorCodes.TOOL_INVALID_SCHEMA, plugin: sup.key, tool: e.name },
          `tool "${e.name}" of plugin ${sup.key} is not offered: plugin.tool.${e.name} is not a valid topic`,
        );
        continue;
      }
      // The manifest's schema file is what the operator reviewed: it wins over the catalogue's.
      raw.set(e.name, { description: e.description ?? raw.get(e.name)?.description ?? "", schema: e.inputSchema, wire });
    }
    const ajv = createAjv();
    const tools: CompiledPluginTool[] = [];
    for (const [localName, r] of raw) {
      const inputSchema = normalizeInputSchema(r.schema);
      let check: ArgsCheck | undefined;
      let why = "its input schema does not describe an object";
      if (inputSchema) {
        try {
          check = compileArgsCheck(ajv, inputSchema);
        } catch (err) {
          why = `its input schema does not compile: ${(err as Error).message}`;
        }
      }
      if (!inputSchema || !check) {
        this.warnOnce(
          `schema:${sup.key}:${localName}:${JSON.stringify(r.schema).slice(0, 200)}`,
          { code: ErrorCodes.TOOL_INVALID_SCHEMA, plugin: sup.key, tool: localName },
          `tool "${localName}" of plugin ${sup.key} is not offered: ${why}`,
        );
        continue;
      }
      tools.push({
        localName,
        description: r.description,
        inputSchema,
        wire: r.wire,
        check,
        ...(r.method !== undefined ? { method: r.method } : {}),
        ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}),
      });
    }
    this.compiled.set(sup, { catalogue, tools });
    return tools;
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_WARNED) this.warned.clear();
    this.warned.add(key);
    this.options.logger.warn(fields, message);
  }
}

function isAvailable(e: Entry): boolean {
  return e.kind !== "plugin" || e.sup.currentState === "ready";
}

import { uuidv7 } from "nexo-plugin-sdk/contract";
import { validateTopic } from "../broker/index.js";
import { RpcError, RpcErrorCodes, type Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { PluginManifest } from "../manifest/index.js";
import { toolCallTopic, toolReplyTopic } from "./allowlist.js";

/** Most topic-form calls one plugin may have awaiting a reply; more fail with NEXO_ERR_HOST_QUEUE_FULL. */
export const MAX_PENDING_TOPIC_CALLS = 4096;

/** Ids of calls that timed out, remembered so their late replies are dropped quietly instead of refused as forged. */
const MAX_EXPIRED_IDS = 1024;

/** Source of the call events the host sends to a topic-form tool. */
export const TOOL_CALL_SOURCE = "nexo";

/**
 * Tools a plugin serves in the topic form of tools (docs/writing-plugins.md, Tools): every
 * `[[plugin.tools.expose]]` tool NOT named in `[plugin.extends].tools` (those
 * are called with `tool.invoke`). Names that cannot form a topic (`a..b`) are
 * left out; the tool registry reports them.
 */
export function topicFormTools(manifest: Pick<PluginManifest, "toolsExpose" | "extends">): string[] {
  const invoked = new Set(manifest.extends.tools);
  const out: string[] = [];
  for (const t of manifest.toolsExpose) {
    if (invoked.has(t.name) || !isTopicName(t.name)) continue;
    out.push(t.name);
  }
  return out;
}

/** True when `plugin.tool.<name>.reply` is a valid topic. */
export function isTopicName(name: string): boolean {
  try {
    validateTopic(toolReplyTopic(name));
    return true;
  } catch {
    return false;
  }
}

/** Options of one topic-form call. */
export interface TopicCallOptions {
  timeoutMs: number;
  sessionId?: string | null;
  agentId?: string | null;
}

interface PendingTopicCall {
  tool: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The host side of topic-form tools for ONE plugin connection. A call is a
 * `broker.event` on `plugin.tool.<name>` sent to the owning plugin only (never
 * published on the shared broker, so no other plugin sees the arguments); the
 * answer is the plugin's `broker.publish` on `plugin.tool.<name>.reply` whose
 * `correlation_id` is the call event's id. Replies are matched only against
 * this connection's own calls, so one plugin can never settle another's.
 */
export class TopicToolCalls {
  private readonly pending = new Map<string, PendingTopicCall>();
  private readonly replyTopics: Map<string, string>;
  private readonly expired = new Set<string>();
  private closedError: Error | undefined;

  /**
   * @param pluginKey names the plugin in errors.
   * @param tools the topic-form tool names (see `topicFormTools`).
   * @param send delivers a `broker.event` params object to the plugin, waiting for room in its stdin queue;
   *   it skips the delivery when `stillWanted()` turns false meanwhile (the call timed out).
   */
  constructor(
    private readonly pluginKey: string,
    tools: readonly string[],
    private readonly send: (params: { topic: string; event: Event }, stillWanted: () => boolean) => Promise<void>,
  ) {
    this.replyTopics = new Map(tools.map((t) => [toolReplyTopic(t), t]));
  }

  /** Calls awaiting their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** True when `topic` is the reply topic of one of this plugin's topic-form tools. */
  isReplyTopic(topic: string): boolean {
    return this.replyTopics.has(topic);
  }

  /**
   * Call tool `name` with `args`. Resolves with the reply's `result`; rejects
   * with RpcError (the reply's `error`, default code -33403),
   * NEXO_ERR_HOST_REQUEST_TIMEOUT, NEXO_ERR_HOST_QUEUE_FULL, or the close
   * error (the plugin exited) at once.
   */
  call(name: string, args: unknown, options: TopicCallOptions): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!this.replyTopics.has(toolReplyTopic(name))) {
      return Promise.reject(new RpcError(RpcErrorCodes.TOOL_NOT_FOUND, `plugin ${this.pluginKey} serves no topic-form tool "${name}"`));
    }
    if (this.pending.size >= MAX_PENDING_TOPIC_CALLS) {
      return Promise.reject(
        new NexoError(ErrorCodes.HOST_QUEUE_FULL, `plugin ${this.pluginKey} already has ${this.pending.size} topic tool calls awaiting a reply; ${name} refused`, {
          pluginId: this.pluginKey,
        }),
      );
    }
    const topic = toolCallTopic(name);
    // The SDK's pooled UUIDs: one getrandom call per 256 ids (the uuid package makes one per id, a syscall on the hot path).
    const event: Event = {
      id: uuidv7(),
      timestamp: new Date().toISOString(),
      topic,
      source: TOOL_CALL_SOURCE,
      session_id: options.sessionId ?? null,
      payload: args,
      metadata: { tool_name: name, agent_id: options.agentId ?? null },
    };
    return new Promise<unknown>((resolve, reject) => {
      const entry: PendingTopicCall = { tool: name, resolve, reject, timer: undefined };
      if (options.timeoutMs > 0 && Number.isFinite(options.timeoutMs)) {
        entry.timer = setTimeout(() => {
          this.pending.delete(event.id);
          this.expired.add(event.id);
          if (this.expired.size > MAX_EXPIRED_IDS) this.expired.delete(this.expired.values().next().value!);
          reject(
            new NexoError(ErrorCodes.HOST_REQUEST_TIMEOUT, `plugin ${this.pluginKey} did not answer ${topic} within ${options.timeoutMs} ms`, {
              pluginId: this.pluginKey,
            }),
          );
        }, options.timeoutMs);
      }
      this.pending.set(event.id, entry);
      this.send({ topic, event }, () => this.pending.has(event.id)).catch((err: Error) => {
        if (this.pending.delete(event.id)) {
          if (entry.timer) clearTimeout(entry.timer);
          reject(this.closedError ?? err);
        }
      });
    });
  }

  /**
   * Settle the call a reply event answers. Returns "late" for the reply to a
   * call that already timed out (dropped; nobody waits for it). Throws RpcError
   * (-32602) when the correlation id matches no call of this plugin (unknown or
   * already answered): the caller logs and counts it as a refused publish.
   */
  settle(topic: string, event: Event): "settled" | "late" {
    const tool = this.replyTopics.get(topic);
    const id = event.correlation_id;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (p === undefined && id !== undefined && tool !== undefined && this.expired.delete(id)) return "late";
    if (tool === undefined || p === undefined || p.tool !== tool) {
      throw new RpcError(RpcErrorCodes.INVALID_PARAMS, `${topic}: no call of plugin ${this.pluginKey} awaits correlation_id ${JSON.stringify(id ?? null)}; reply refused`, {
        reason: "unknown_tool_call",
        topic,
      });
    }
    this.pending.delete(id!);
    if (p.timer) clearTimeout(p.timer);
    const payload = event.payload;
    if (isRecord(payload) && "error" in payload && payload.error !== undefined && payload.error !== null) {
      const e = isRecord(payload.error) ? payload.error : { message: String(payload.error) };
      const code = typeof e.code === "number" && Number.isInteger(e.code) ? e.code : RpcErrorCodes.TOOL_EXECUTION_FAILED;
      p.reject(new RpcError(code, typeof e.message === "string" ? e.message : `tool ${tool} failed`, e.data));
    } else if (isRecord(payload) && "result" in payload) {
      p.resolve(payload.result === undefined ? null : payload.result);
    } else {
      p.reject(new RpcError(RpcErrorCodes.TOOL_EXECUTION_FAILED, `plugin ${this.pluginKey} answered ${tool} without {result} or {error}`));
    }
    return "settled";
  }

  /** Fail every pending call with `err` at once and refuse new ones. Idempotent. */
  close(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

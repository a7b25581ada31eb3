import { handlerScope } from "./context.js";
import { HostCallAbandonedError, HostCallTimeoutError, RpcDecodeError, RpcServerError, RpcTransportError } from "./errors.js";
import { Event, wireEvent } from "./event.js";
import { serializeFrame } from "./wire.js";

/** Default deadline of a child-to-host request (contract: 30 s). */
export const DEFAULT_HOST_CALL_TIMEOUT_MS = 30_000;
/** The same default, under the reference SDK's name. */
export const DEFAULT_RPC_TIMEOUT_MS = DEFAULT_HOST_CALL_TIMEOUT_MS;

/** How a host call leaves the process: one frame on the shared writer. */
export type SendFrame = (frame: Record<string, unknown>) => Promise<void>;

/** Writes one serialized frame line (`serializeFrame` output) to the host. */
export type LineWriter = (line: string) => void;

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  onDelta?: (chunk: unknown) => void;
}

/**
 * The table of the plugin's own requests to the host: ids, deadlines,
 * streamed deltas, and failing them all at shutdown. Its size is bounded by
 * the calls the plugin has in flight, each of which has a deadline.
 */
export class HostCalls {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedReason: string | undefined;

  constructor(
    private readonly sendFrame: SendFrame,
    private readonly defaultTimeoutMs = DEFAULT_HOST_CALL_TIMEOUT_MS,
  ) {}

  /** Send `method` as a request; resolves with its result, rejects with RpcServerError (the host's error reply), RpcTimeoutError, or RpcTransportError (shutdown, send failure). */
  request(method: string, params: unknown, timeoutMs?: number, onDelta?: (chunk: unknown) => void): Promise<unknown> {
    if (this.closedReason !== undefined) return Promise.reject(new HostCallAbandonedError(method, this.closedReason));
    const id = this.nextId++;
    const ms = timeoutMs ?? this.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HostCallTimeoutError(method, ms));
      }, ms);
      const entry: Pending = { method, resolve, reject, timer };
      if (onDelta) entry.onDelta = onDelta;
      this.pending.set(id, entry);
      this.sendFrame({ jsonrpc: "2.0", id, method, params }).catch((err: Error) =>
        this.settle(id, new RpcTransportError(`failed to send ${method}: ${err instanceof Error ? err.message : String(err)}`, method)),
      );
    });
  }

  /** Route a response frame; returns false when no call of ours has that id (late, or after a timeout). */
  onResponse(frame: { id?: unknown; result?: unknown; error?: unknown }): boolean {
    if (typeof frame.id !== "number" || !this.pending.has(frame.id)) return false;
    const e = frame.error;
    if (typeof e === "object" && e !== null) {
      const { code, message, data } = e as { code?: unknown; message?: unknown; data?: unknown };
      this.settle(frame.id, new RpcServerError(typeof code === "number" ? code : -32603, String(message ?? ""), data));
    } else this.settle(frame.id, undefined, frame.result);
    return true;
  }

  /** Hand a streamed chunk (`llm.complete.delta {request_id, chunk}`) to the call it belongs to. */
  onDelta(requestId: unknown, chunk: unknown): boolean {
    const p = this.pending.get(Number(requestId));
    if (!p?.onDelta) return false;
    p.onDelta(chunk);
    return true;
  }

  /** Refuse new calls and fail every pending one with `reason`. */
  close(reason: string): void {
    this.closedReason = reason;
    for (const id of [...this.pending.keys()]) this.settle(id, new HostCallAbandonedError(this.pending.get(id)!.method, reason));
  }

  private settle(id: number, error: Error | undefined, result?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(result);
  }
}

/** Handles the events of one `broker.subscribe`, in arrival order with every other event. */
export type SubscriptionHandler = (topic: string, event: Event) => void | Promise<void>;

/** Options of `memoryRecall`: up to `limit` (default 10, host max 1000) entries of `agentId` matching `query`. */
export interface MemoryRecallOptions {
  agentId: string;
  query: string;
  limit?: number;
  timeoutMs?: number;
}

/** @deprecated Wire-spelled params of the older `memoryRecall(params, timeoutMs)`, which resolves `{entries}`; use MemoryRecallOptions. */
export interface MemoryRecallParams {
  agent_id: string;
  query: string;
  limit?: number;
}

/** One long-term-memory entry (wire spelling). */
export interface MemoryEntry {
  id: string;
  agent_id: string;
  content: string;
  tags: string[];
  concept_tags: string[];
  created_at: string;
  memory_type: string | null;
}

/** A chat message of `llm.complete`. */
export interface Message {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
}

/** Token usage of an `llm.complete` reply. */
export interface TokenCount {
  prompt_tokens: number;
  completion_tokens: number;
}

/** Result of `llm.complete`. `content` is null on a streamed call (the chunks were the content). Other fields the host sends are kept. */
export interface LlmCompleteResult {
  content: string | null;
  finish_reason: string;
  usage: TokenCount;
}

/** Options of `llmComplete` / `llmCompleteStream`: `maxTokens` defaults to 4096, `temperature` to 0.7. */
export interface LlmCompleteOptions {
  provider: string;
  model: string;
  messages: Message[];
  maxTokens?: number;
  temperature?: number;
  systemPrompt?: string;
  timeoutMs?: number;
}

/** @deprecated Wire-spelled params of the older `llmComplete(params, timeoutMs)`; use LlmCompleteOptions. */
export interface LlmCompleteParams {
  provider?: string;
  model?: string;
  messages: Array<{ role: string; content: string }>;
  max_tokens?: number;
  temperature?: number;
  system_prompt?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A wire `memory.recall` entry, missing fields defaulted. */
export function parseMemoryEntry(v: unknown): MemoryEntry {
  const o = isObj(v) ? v : {};
  return {
    ...o,
    id: String(o.id ?? ""),
    agent_id: String(o.agent_id ?? ""),
    content: String(o.content ?? ""),
    tags: Array.isArray(o.tags) ? (o.tags as string[]) : [],
    concept_tags: Array.isArray(o.concept_tags) ? (o.concept_tags as string[]) : [],
    created_at: String(o.created_at ?? ""),
    memory_type: typeof o.memory_type === "string" ? o.memory_type : null,
  };
}

/** A wire `llm.complete` result (or the final reply of a streamed one), missing fields defaulted. */
export function parseLlmCompleteResult(v: unknown): LlmCompleteResult {
  const o = isObj(v) ? v : {};
  const u = isObj(o.usage) ? o.usage : {};
  return {
    ...o,
    content: typeof o.content === "string" ? o.content : null,
    finish_reason: String(o.finish_reason ?? ""),
    usage: {
      ...u,
      prompt_tokens: typeof u.prompt_tokens === "number" ? u.prompt_tokens : 0,
      completion_tokens: typeof u.completion_tokens === "number" ? u.completion_tokens : 0,
    },
  };
}

/** The `llm.complete` params of either spelling; `stream: true` only when streamed (never `stream: false`). */
export function llmParams(o: LlmCompleteOptions | LlmCompleteParams, stream: boolean): Record<string, unknown> {
  const camel = o as Partial<LlmCompleteOptions>;
  const snake = o as Partial<LlmCompleteParams>;
  const p: Record<string, unknown> = {
    provider: o.provider,
    model: o.model,
    messages: o.messages,
    max_tokens: camel.maxTokens ?? snake.max_tokens ?? 4096,
    temperature: o.temperature ?? 0.7,
  };
  const system = camel.systemPrompt ?? snake.system_prompt;
  if (system !== undefined) p.system_prompt = system;
  if (stream) p.stream = true;
  return p;
}

/** The adapter-side hooks a `BrokerSender` needs. */
export interface BrokerLink {
  calls: HostCalls;
  notify(method: string, params: unknown): Promise<void>;
  addSubscription(id: string, handler: SubscriptionHandler): void;
  removeSubscription(id: string): void;
  /** True when the host takes any string as `session_id` (Nexo); false: only UUIDs (upstream). */
  stringSessionIds: boolean;
}

/** A BrokerSender's link when it is built on a bare line writer: publishes work; host calls never get a reply (for tests). */
function standaloneLink(write: LineWriter): BrokerLink {
  const sendFrame = (frame: Record<string, unknown>): Promise<void> => {
    write(serializeFrame(frame));
    return Promise.resolve();
  };
  return {
    calls: new HostCalls(sendFrame),
    notify: (method, params) => sendFrame({ jsonrpc: "2.0", method, params }),
    addSubscription: () => undefined,
    removeSubscription: () => undefined,
    stringSessionIds: process.env.NEXO_PLUGIN_KEY !== undefined,
  };
}

/**
 * Publish events and call host services. Every frame goes through the one
 * serialized writer, so concurrent publishes never interleave. Host calls
 * reject after their deadline (default 30 s) with RpcTimeoutError.
 */
export class BrokerSender {
  private readonly link: BrokerLink;

  /** `new BrokerSender(line => process.stdout.write(line))` makes a standalone sender (publishes only); the adapter builds the real one. */
  constructor(link: BrokerLink | LineWriter, _pending?: unknown, _idAlloc?: unknown) {
    this.link = typeof link === "function" ? standaloneLink(link) : link;
  }

  /** The event as sent: the running handler's event id as `correlation_id` when it has none, and fields an upstream host can parse. */
  private outgoing(event: Event): Event {
    let e = event;
    if (e.correlation_id === undefined || e.correlation_id === null) {
      const id = handlerScope.getStore()?.eventId;
      if (id !== undefined) e = { ...e, correlation_id: id };
    }
    return wireEvent(e, this.link.stringSessionIds);
  }

  /**
   * `broker.publish` as a notification (the host checks the allowlist and
   * drops what is outside it). Published from inside an event handler without
   * a `correlation_id`, the event gets that handler's event id.
   * @example await broker.publish(t, Event.new(t, "me", payload))
   */
  publish(topic: string, event: Event): Promise<void> {
    return this.link.notify("broker.publish", { topic, event: this.outgoing(event) });
  }

  /** `broker.publish` as a request: resolves `{ok: true}`, rejects with the host's RpcServerError (e.g. outside the allowlist). */
  publishAcked(topic: string, event: Event, timeoutMs?: number): Promise<{ ok: boolean }> {
    return this.link.calls.request("broker.publish", { topic, event: this.outgoing(event) }, timeoutMs) as Promise<{ ok: boolean }>;
  }

  /** `broker.subscribe`: events matching `pattern` (within the allowlist) go to `handler`; returns the subscriber id. */
  async subscribe(pattern: string, handler: SubscriptionHandler, timeoutMs?: number): Promise<string> {
    const r = (await this.link.calls.request("broker.subscribe", { topic_pattern: pattern }, timeoutMs)) as { subscriber_id?: unknown };
    if (typeof r?.subscriber_id !== "string" && typeof r?.subscriber_id !== "number") {
      throw new RpcDecodeError("broker.subscribe reply has no subscriber_id");
    }
    const id = String(r.subscriber_id);
    this.link.addSubscription(id, handler);
    return id;
  }

  /**
   * Any host method, its result as the host sent it; `onDelta` gets the
   * method's streamed chunks (`*.delta {request_id, chunk}`) first.
   * @example const r = await broker.request("memory.recall", { agent_id: "a", query: "q", limit: 5 })
   */
  request(method: string, params: unknown, timeoutMs?: number, onDelta?: (chunk: unknown) => void): Promise<unknown> {
    return this.link.calls.request(method, params, timeoutMs, onDelta);
  }

  /** `broker.unsubscribe`: the handler stops at once, then the host is told. */
  async unsubscribe(subscriberId: string, timeoutMs?: number): Promise<void> {
    this.link.removeSubscription(subscriberId);
    await this.link.calls.request("broker.unsubscribe", { subscriber_id: subscriberId }, timeoutMs);
  }

  /**
   * `memory.recall`: up to `limit` (default 10) entries of `agentId` matching `query`.
   * @example const entries = await broker.memoryRecall({ agentId: "a1", query: "prefers", limit: 5 })
   */
  memoryRecall(opts: MemoryRecallOptions): Promise<MemoryEntry[]>;
  /** @deprecated Resolves `{entries}`; use `memoryRecall({agentId, query, limit, timeoutMs})`, which resolves the entries. */
  memoryRecall(params: MemoryRecallParams, timeoutMs?: number): Promise<{ entries: MemoryEntry[] }>;
  async memoryRecall(opts: MemoryRecallOptions | MemoryRecallParams, timeoutMs?: number): Promise<MemoryEntry[] | { entries: MemoryEntry[] }> {
    if ("agent_id" in opts && !("agentId" in opts)) {
      return (await this.link.calls.request("memory.recall", { limit: 10, ...opts }, timeoutMs)) as { entries: MemoryEntry[] };
    }
    const o = opts as MemoryRecallOptions;
    const r = await this.link.calls.request("memory.recall", { agent_id: o.agentId, query: o.query, limit: o.limit ?? 10 }, o.timeoutMs ?? timeoutMs);
    const entries = isObj(r) ? r.entries : undefined;
    if (!Array.isArray(entries)) throw new RpcDecodeError("memory.recall result missing `entries` array");
    return entries.map(parseMemoryEntry);
  }

  /**
   * `llm.complete` in one reply (no `stream` member is sent).
   * @example const r = await broker.llmComplete({ provider: "p", model: "m", messages: [{ role: "user", content: "hi" }] }); r.content
   */
  llmComplete(opts: LlmCompleteOptions): Promise<LlmCompleteResult>;
  /** Wire-spelled params (deprecated spelling) and a separate deadline. */
  llmComplete(params: LlmCompleteParams, timeoutMs?: number): Promise<LlmCompleteResult>;
  async llmComplete(opts: LlmCompleteOptions | LlmCompleteParams, timeoutMs?: number): Promise<LlmCompleteResult> {
    const r = await this.link.calls.request("llm.complete", llmParams(opts, false), (opts as Partial<LlmCompleteOptions>).timeoutMs ?? timeoutMs);
    return parseLlmCompleteResult(r);
  }

  /**
   * A streamed `llm.complete`: iterate the returned LlmStream for the text
   * chunks in order, then `await stream.result` for the final reply
   * (`content` null).
   * @example const s = broker.llmCompleteStream({ provider, model, messages }); for await (const c of s) out += c; const { usage } = await s.result;
   */
  llmCompleteStream(opts: LlmCompleteOptions | LlmCompleteParams): LlmStream;
  /** @deprecated The callback form; use `llmCompleteWithDeltas(params, onDelta, timeoutMs)` (same behaviour) or the LlmStream form. */
  llmCompleteStream(params: LlmCompleteOptions | LlmCompleteParams, onDelta: (chunk: unknown) => void, timeoutMs?: number): Promise<LlmCompleteResult>;
  llmCompleteStream(opts: LlmCompleteOptions | LlmCompleteParams, onDelta?: (chunk: unknown) => void, timeoutMs?: number): LlmStream | Promise<LlmCompleteResult> {
    if (typeof onDelta === "function") return this.llmCompleteWithDeltas(opts, onDelta, timeoutMs);
    return this.llmCompleteChunks(opts);
  }

  /** `llm.complete` with `stream: true`: `onDelta` gets each `llm.complete.delta` chunk in order, then the final reply resolves. */
  async llmCompleteWithDeltas(params: LlmCompleteOptions | LlmCompleteParams, onDelta: (chunk: unknown) => void, timeoutMs?: number): Promise<LlmCompleteResult> {
    const r = await this.link.calls.request("llm.complete", llmParams(params, true), (params as Partial<LlmCompleteOptions>).timeoutMs ?? timeoutMs, onDelta);
    return parseLlmCompleteResult(r);
  }

  /** The LlmStream form with a separate deadline (what `llmCompleteStream(opts)` returns). */
  llmCompleteChunks(params: LlmCompleteOptions | LlmCompleteParams, timeoutMs?: number): LlmStream {
    return new LlmStream((onDelta) => this.llmCompleteWithDeltas(params, onDelta, timeoutMs));
  }
}

/**
 * A streamed `llm.complete`: `for await (const chunk of stream)` yields the
 * text chunks in order; `result` is the final reply (rejects with the host's
 * RpcServerError, RpcTimeoutError or RpcTransportError). Iteration also ends
 * with that error, so a caller who only iterates still sees it. Iterate once.
 */
export class LlmStream implements AsyncIterable<string> {
  readonly result: Promise<LlmCompleteResult>;
  private readonly chunks: string[] = [];
  private wake: (() => void) | undefined;
  private settled = false;
  private iterated = false;

  /** @internal built by `BrokerSender.llmCompleteStream`. */
  constructor(start: (onDelta: (chunk: unknown) => void) => Promise<LlmCompleteResult>) {
    this.result = start((chunk) => {
      this.chunks.push(chunk as string);
      this.wake?.();
    });
    const done = (): void => {
      this.settled = true;
      this.wake?.();
    };
    // Handled here so a caller who only iterates gets the error there, not as an unhandled rejection.
    this.result.then(done, done);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    if (this.iterated) throw new Error("an LlmStream can be iterated once");
    this.iterated = true;
    for (;;) {
      if (this.chunks.length > 0) {
        yield this.chunks.shift()!;
        continue;
      }
      if (this.settled) break;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
    await this.result;
  }
}

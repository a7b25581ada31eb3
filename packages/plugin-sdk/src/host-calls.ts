import type { Event } from "./event.js";
import { HostCallAbandonedError, HostCallTimeoutError, RpcError, RpcErrorCodes } from "./errors.js";

/** Default deadline of a child-to-host request (contract: 30 s). */
export const DEFAULT_HOST_CALL_TIMEOUT_MS = 30_000;

/** How a host call leaves the process: one frame on the shared writer. */
export type SendFrame = (frame: Record<string, unknown>) => Promise<void>;

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

  /** Send `method` as a request; resolves with its result, rejects with an `RpcError` (the host's error reply), a `HostCallTimeoutError`, a `HostCallAbandonedError` (shutdown) or a send failure. */
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
      this.sendFrame({ jsonrpc: "2.0", id, method, params }).catch((err: Error) => this.settle(id, err));
    });
  }

  /** Route a response frame; returns false when no call of ours has that id (late, or after a timeout). */
  onResponse(frame: { id?: unknown; result?: unknown; error?: unknown }): boolean {
    if (typeof frame.id !== "number" || !this.pending.has(frame.id)) return false;
    const e = frame.error;
    if (typeof e === "object" && e !== null) {
      const { code, message, data } = e as { code?: unknown; message?: unknown; data?: unknown };
      this.settle(frame.id, new RpcError(typeof code === "number" ? code : RpcErrorCodes.INTERNAL_ERROR, String(message ?? "host error"), data));
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

/** Params of `memory.recall`; `limit` defaults to 10 (host max 1000). */
export interface MemoryRecallParams {
  agent_id: string;
  query: string;
  limit?: number;
}

/** One entry of a `memory.recall` result. */
export interface MemoryEntry {
  id: string;
  agent_id: string;
  content: string;
  tags: string[];
  concept_tags: string[];
  created_at: string;
  memory_type: string;
  [k: string]: unknown;
}

/** Params of `llm.complete`; `max_tokens` defaults to 4096, `temperature` to 0.7. */
export interface LlmCompleteParams {
  provider?: string;
  model?: string;
  messages: Array<{ role: string; content: string }>;
  max_tokens?: number;
  temperature?: number;
  system_prompt?: string;
}

/** Result of `llm.complete` (`content` is absent on a streamed call). */
export interface LlmCompleteResult {
  content?: string;
  finish_reason: string;
  usage?: Record<string, unknown>;
}

/** The adapter-side hooks a `BrokerSender` needs. */
export interface BrokerLink {
  calls: HostCalls;
  notify(method: string, params: unknown): Promise<void>;
  addSubscription(id: string, handler: SubscriptionHandler): void;
  removeSubscription(id: string): void;
}

/**
 * Publish events and call host services. Every frame goes through the one
 * serialized writer, so concurrent publishes never interleave. Host calls
 * reject after `timeoutMs` (default 30 s) with a message naming the method.
 */
export class BrokerSender {
  /** @internal built by `PluginAdapter`. */
  constructor(private readonly link: BrokerLink) {}

  /** `broker.publish` as a notification (the host checks the allowlist and drops what is outside it). @example await broker.publish(t, Event.new(t, "me", payload)) */
  publish(topic: string, event: Event): Promise<void> {
    return this.link.notify("broker.publish", { topic, event });
  }

  /** `broker.publish` as a request: resolves `{ok: true}`, rejects with the host's `RpcError` (e.g. outside the allowlist). */
  publishAcked(topic: string, event: Event, timeoutMs?: number): Promise<{ ok: boolean }> {
    return this.link.calls.request("broker.publish", { topic, event }, timeoutMs) as Promise<{ ok: boolean }>;
  }

  /** `broker.subscribe`: events matching `pattern` (within the allowlist) go to `handler`; returns the subscriber id. */
  async subscribe(pattern: string, handler: SubscriptionHandler, timeoutMs?: number): Promise<string> {
    const r = (await this.link.calls.request("broker.subscribe", { topic_pattern: pattern }, timeoutMs)) as { subscriber_id?: unknown };
    if (typeof r?.subscriber_id !== "string" && typeof r?.subscriber_id !== "number") {
      throw new RpcError(RpcErrorCodes.INTERNAL_ERROR, "broker.subscribe reply has no subscriber_id", r);
    }
    const id = String(r.subscriber_id);
    this.link.addSubscription(id, handler);
    return id;
  }

  /** `broker.unsubscribe`: the handler stops at once, then the host is told. */
  async unsubscribe(subscriberId: string, timeoutMs?: number): Promise<void> {
    this.link.removeSubscription(subscriberId);
    await this.link.calls.request("broker.unsubscribe", { subscriber_id: subscriberId }, timeoutMs);
  }

  /** `memory.recall`: entries for `agent_id` matching `query`. */
  memoryRecall(params: MemoryRecallParams, timeoutMs?: number): Promise<{ entries: MemoryEntry[] }> {
    return this.link.calls.request("memory.recall", { limit: 10, ...params }, timeoutMs) as Promise<{ entries: MemoryEntry[] }>;
  }

  /** `llm.complete` in one reply. */
  llmComplete(params: LlmCompleteParams, timeoutMs?: number): Promise<LlmCompleteResult> {
    return this.link.calls.request("llm.complete", { max_tokens: 4096, temperature: 0.7, ...params, stream: false }, timeoutMs) as Promise<LlmCompleteResult>;
  }

  /** `llm.complete` with `stream: true`: `onDelta` gets each `llm.complete.delta` chunk in order, then the final reply resolves. */
  llmCompleteStream(params: LlmCompleteParams, onDelta: (chunk: unknown) => void, timeoutMs?: number): Promise<LlmCompleteResult> {
    return this.link.calls.request("llm.complete", { max_tokens: 4096, temperature: 0.7, ...params, stream: true }, timeoutMs, onDelta) as Promise<LlmCompleteResult>;
  }

  /**
   * The streamed `llm.complete` as an async iterable of chunks (the Python SDK's `llm_complete_stream`);
   * iteration ends with the final reply, which `result` resolves with; the host's error is thrown by the iteration.
   * @example const s = broker.llmCompleteChunks({ messages }); for await (const c of s) show(c); const { usage } = await s.result;
   */
  llmCompleteChunks(params: LlmCompleteParams, timeoutMs?: number): LlmStream {
    return new LlmStream((onDelta) => this.llmCompleteStream(params, onDelta, timeoutMs));
  }
}

/** A streamed `llm.complete`: iterate for the chunks; `result` is the final reply. Iterate it once. */
export class LlmStream implements AsyncIterable<unknown> {
  /** The final reply (rejects with the host's error, a timeout or an abandon). */
  readonly result: Promise<LlmCompleteResult>;
  private readonly chunks: unknown[] = [];
  private wake: (() => void) | undefined;
  private settled = false;
  private iterated = false;

  /** @internal built by `BrokerSender.llmCompleteChunks`. */
  constructor(start: (onDelta: (chunk: unknown) => void) => Promise<LlmCompleteResult>) {
    this.result = start((chunk) => {
      this.chunks.push(chunk);
      this.wake?.();
    });
    const done = (): void => {
      this.settled = true;
      this.wake?.();
    };
    // Handled here so a caller who only iterates gets the error there, not as an unhandled rejection.
    this.result.then(done, done);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    if (this.iterated) throw new Error("an LlmStream can be iterated once");
    this.iterated = true;
    for (;;) {
      if (this.chunks.length > 0) {
        yield this.chunks.shift();
        continue;
      }
      if (this.settled) break;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
    await this.result;
  }
}

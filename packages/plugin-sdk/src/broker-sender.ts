import type { Event } from "./event.js";
import { RpcError } from "./errors.js";

/** The part of the adapter a plugin uses to talk to the host. */
export interface HostLink {
  notify(method: string, params: unknown): Promise<void>;
  request(method: string, params: unknown, timeoutMs?: number): Promise<unknown>;
  addSubscription(id: string, handler: SubscriptionHandler): void;
  removeSubscription(id: string): void;
  streamRequest(method: string, params: Record<string, unknown>, onDelta: (chunk: unknown) => void, timeoutMs?: number): Promise<unknown>;
}

export type SubscriptionHandler = (topic: string, event: Event) => void | Promise<void>;

export interface MemoryRecallParams {
  agent_id: string;
  query: string;
  limit?: number;
}

export interface LlmCompleteParams {
  provider?: string;
  model?: string;
  messages: Array<{ role: string; content: string }>;
  max_tokens?: number;
  temperature?: number;
  system_prompt?: string;
}

/**
 * Publish events and call host services. Writes are serialized with every
 * other frame the SDK sends, so concurrent publishes never interleave.
 */
export class BrokerSender {
  constructor(private readonly link: HostLink) {}

  /** `broker.publish` as a notification (fire and forget; the host enforces the allowlist). */
  publish(topic: string, event: Event): Promise<void> {
    return this.link.notify("broker.publish", { topic, event });
  }

  /** `broker.publish` as a request: resolves `{ok: true}` or rejects with the host's error (e.g. outside the allowlist). */
  publishAcked(topic: string, event: Event): Promise<{ ok: boolean }> {
    return this.link.request("broker.publish", { topic, event }) as Promise<{ ok: boolean }>;
  }

  /** Ask the host for events matching `pattern` (within the plugin's allowlist); returns the subscriber id. */
  async subscribe(pattern: string, handler: SubscriptionHandler): Promise<string> {
    const r = (await this.link.request("broker.subscribe", { topic_pattern: pattern })) as { subscriber_id: string };
    this.link.addSubscription(r.subscriber_id, handler);
    return r.subscriber_id;
  }

  async unsubscribe(subscriberId: string): Promise<void> {
    this.link.removeSubscription(subscriberId);
    await this.link.request("broker.unsubscribe", { subscriber_id: subscriberId });
  }

  /** `memory.recall`: entries matching `query` for `agent_id` (limit default 10). */
  memoryRecall(params: MemoryRecallParams, timeoutMs?: number): Promise<{ entries: Array<Record<string, unknown>> }> {
    return this.link.request("memory.recall", { limit: 10, ...params }, timeoutMs) as Promise<{ entries: Array<Record<string, unknown>> }>;
  }

  /** `llm.complete` (non-streaming). */
  llmComplete(params: LlmCompleteParams, timeoutMs?: number): Promise<{ content: string; finish_reason: string; usage?: unknown }> {
    return this.link.request("llm.complete", { max_tokens: 4096, temperature: 0.7, ...params, stream: false }, timeoutMs) as Promise<{ content: string; finish_reason: string }>;
  }

  /** `llm.complete` with `stream: true`: `onDelta` gets each `llm.complete.delta` chunk, then the final reply resolves. */
  llmCompleteStream(params: LlmCompleteParams, onDelta: (chunk: unknown) => void, timeoutMs?: number): Promise<{ finish_reason: string; usage?: unknown }> {
    return this.link.streamRequest("llm.complete", { max_tokens: 4096, temperature: 0.7, ...params, stream: true }, onDelta, timeoutMs) as Promise<{ finish_reason: string }>;
  }
}

export { RpcError };

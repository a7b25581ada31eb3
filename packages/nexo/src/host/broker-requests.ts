import { uuidv7 } from "nexo-plugin-sdk/contract";
import { matchTopic } from "../broker/index.js";
import type { Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";

/** Most host requests one plugin may have awaiting a reply; more fail with NEXO_ERR_HOST_QUEUE_FULL. */
export const MAX_PENDING_BROKER_REQUESTS = 4096;
/** Inboxes of requests that timed out, remembered so their late replies are dropped quietly. */
const MAX_EXPIRED_INBOXES = 1024;
/** Source of the request events the host sends. */
const REQUEST_SOURCE = "nexo";

/** The topic of upstream's `[plugin.http]` broker-RPC proxy for plugin `id`. */
export function httpRequestTopic(id: string): string {
  return `plugin.${id}.http.request`;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Where a request is delivered: one of the plugin's own `broker.subscribe` subscriptions. */
export type BrokerRequestSend = (params: { subscriber_id: string; topic: string; event: Event }, stillWanted: () => boolean) => Promise<void>;

/**
 * Host-to-plugin requests in the shape of upstream's broker request/reply
 * (what its daemon sends on `plugin.<id>.http.request`, `.metrics.scrape` ...):
 * an event on the topic whose payload is a message `{id, topic, reply_to,
 * payload}`, answered by the plugin publishing an event on `reply_to` whose
 * payload is a message carrying the answer in `payload`. The request goes only
 * to the plugin's own subscription on that topic, never onto the shared broker,
 * and the `_inbox.<uuid>` reply topics are known only to this connection: no
 * other plugin sees the request or can answer it. One instance per connection.
 */
export class BrokerRequests {
  private readonly pending = new Map<string, Pending>();
  private readonly expired = new Set<string>();
  private closedError: Error | undefined;

  /**
   * @param pluginKey names the plugin in errors.
   * @param subscriberFor the id of the plugin's subscription covering a topic, if any.
   * @param send delivers the `broker.event` (waiting for room in the plugin's stdin queue).
   */
  constructor(
    private readonly pluginKey: string,
    private readonly subscriberFor: (topic: string) => string | undefined,
    private readonly send: BrokerRequestSend,
  ) {}

  /** True when `topic` is the reply inbox of a request of this connection (pending or timed out). */
  isInbox(topic: string): boolean {
    return this.pending.has(topic) || this.expired.has(topic);
  }

  /**
   * Send `payload` on `topic` and resolve with the answer's payload. Rejects
   * NEXO_ERR_PROXY_NOT_READY when the plugin holds no subscription on the
   * topic (yet), NEXO_ERR_HOST_REQUEST_TIMEOUT, NEXO_ERR_HOST_QUEUE_FULL, or
   * the close error (the plugin exited) at once.
   */
  request(topic: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const subscriberId = this.subscriberFor(topic);
    if (subscriberId === undefined) {
      return Promise.reject(
        new NexoError(ErrorCodes.PROXY_NOT_READY, `plugin ${this.pluginKey} has not subscribed to ${topic} (yet); retry shortly`, { pluginId: this.pluginKey, topic }),
      );
    }
    if (this.pending.size >= MAX_PENDING_BROKER_REQUESTS) {
      return Promise.reject(
        new NexoError(ErrorCodes.HOST_QUEUE_FULL, `plugin ${this.pluginKey} already has ${this.pending.size} requests awaiting a reply; ${topic} refused`, {
          pluginId: this.pluginKey,
        }),
      );
    }
    const inbox = `_inbox.${uuidv7()}`;
    const event: Event = {
      id: uuidv7(),
      timestamp: new Date().toISOString(),
      topic,
      source: REQUEST_SOURCE,
      session_id: null,
      payload: { id: uuidv7(), topic, reply_to: inbox, payload },
    };
    return new Promise<unknown>((resolve, reject) => {
      const entry: Pending = { resolve, reject, timer: undefined };
      entry.timer = setTimeout(() => {
        this.pending.delete(inbox);
        this.expired.add(inbox);
        if (this.expired.size > MAX_EXPIRED_INBOXES) this.expired.delete(this.expired.values().next().value!);
        reject(new NexoError(ErrorCodes.HOST_REQUEST_TIMEOUT, `plugin ${this.pluginKey} did not answer ${topic} within ${timeoutMs} ms`, { pluginId: this.pluginKey, topic }));
      }, timeoutMs);
      this.pending.set(inbox, entry);
      this.send({ subscriber_id: subscriberId, topic, event }, () => this.pending.has(inbox)).catch((err: Error) => {
        if (this.pending.delete(inbox)) {
          clearTimeout(entry.timer);
          reject(this.closedError ?? err);
        }
      });
    });
  }

  /**
   * Settle the request whose inbox `topic` is with the published `event`:
   * the answer is `event.payload.payload` (upstream's message), or
   * `event.payload` itself when it is not a message. A late reply is dropped.
   */
  settle(topic: string, event: unknown): void {
    const p = this.pending.get(topic);
    if (!p) {
      this.expired.delete(topic);
      return;
    }
    this.pending.delete(topic);
    clearTimeout(p.timer);
    const body = isRecord(event) ? event.payload : undefined;
    p.resolve(isRecord(body) && "payload" in body && "reply_to" in body ? body.payload : body);
  }

  /** Fail every pending request with `err` at once and refuse new ones. Idempotent. */
  close(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const [inbox, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(inbox);
      p.reject(err);
    }
  }
}

/** The id of the first subscription in `patterns` (id -> pattern) that covers `topic`. */
export function findSubscriber(patterns: ReadonlyMap<string, string>, topic: string): string | undefined {
  for (const [id, pattern] of patterns) if (matchTopic(pattern, topic)) return id;
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

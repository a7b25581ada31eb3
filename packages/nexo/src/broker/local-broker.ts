import type { Event } from "../contract/event.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { DEFAULT_BUFFER_SIZE, DeliveryScheduler, SubscriptionQueue } from "./subscription-queue.js";
import { validatePattern, validateTopic } from "./topic.js";
import { TopicTrie } from "./topic-trie.js";
import type { Broker, BrokerStats, EventHandler, SubscribeOptions, Subscription } from "./types.js";

export interface LocalBrokerOptions {
  /** Logs drops and handler errors. Default: none. */
  logger?: Logger;
  /** Per-subscriber buffer when `subscribe` does not say. Default 256. */
  defaultBufferSize?: number;
}

/** Topics whose matches are cached; the cache is cleared when full or when subscriptions change. */
const MATCH_CACHE_LIMIT = 4096;
const RESOLVED = Promise.resolve();

/**
 * The in-process broker (default). Subscriptions live in a trie; the match
 * result per topic is cached until the subscription set changes, so a publish
 * costs one map lookup plus one enqueue per matching subscriber.
 */
export class LocalBroker implements Broker {
  private readonly trie = new TopicTrie<SubscriptionQueue>();
  private readonly cache = new Map<string, SubscriptionQueue[]>();
  private readonly scheduler = new DeliveryScheduler();
  private readonly counters = { published: 0, delivered: 0, dropped: 0 };
  private readonly subs = new Set<SubscriptionQueue>();
  private closed = false;

  constructor(private readonly options: LocalBrokerOptions = {}) {}

  publish(topic: string, event: Event): Promise<void> {
    if (this.closed) return Promise.reject(new NexoError(ErrorCodes.BROKER_CLOSED, `broker is closed; cannot publish on ${topic}`, { topic }));
    let matches = this.cache.get(topic);
    if (matches === undefined) {
      try {
        validateTopic(topic);
      } catch (err) {
        return Promise.reject(err);
      }
      matches = this.trie.match(topic);
      if (this.cache.size >= MATCH_CACHE_LIMIT) this.cache.clear();
      this.cache.set(topic, matches);
    }
    event.topic = topic;
    this.counters.published++;
    for (let i = 0; i < matches.length; i++) matches[i].push(event);
    return RESOLVED;
  }

  subscribe(pattern: string, handler?: EventHandler, options: SubscribeOptions = {}): Subscription {
    if (this.closed) throw new NexoError(ErrorCodes.BROKER_CLOSED, `broker is closed; cannot subscribe to ${pattern}`, { topic: pattern });
    validatePattern(pattern);
    const sub = new SubscriptionQueue({
      pattern,
      name: options.name ?? pattern,
      capacity: options.bufferSize ?? this.options.defaultBufferSize ?? DEFAULT_BUFFER_SIZE,
      handler,
      scheduler: this.scheduler,
      logger: this.options.logger,
      counters: this.counters,
      onEnd: (s) => {
        this.subs.delete(s);
        this.trie.remove(s.pattern, s);
        this.cache.clear();
      },
    });
    this.trie.add(pattern, sub);
    this.subs.add(sub);
    this.cache.clear();
    return sub;
  }

  stats(): BrokerStats {
    return { published: this.counters.published, delivered: this.counters.delivered, dropped: this.counters.dropped, subscriptions: this.subs.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subs]) s.unsubscribe();
    this.cache.clear();
  }
}

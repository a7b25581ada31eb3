import type { Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { LocalDurable } from "./local-durable.js";
import { checkBufferSize, DEFAULT_BUFFER_SIZE, DeliveryScheduler, SubscriptionQueue } from "./subscription-queue.js";
import { validatePattern, validateQueueName, validateTopic } from "./topic.js";
import { TopicTrie } from "./topic-trie.js";
import type { Broker, BrokerStats, DurableStats, EventHandler, SubscribeOptions, Subscription } from "./types.js";

/** Options of `new LocalBroker()`. */
export interface LocalBrokerOptions {
  /** Logs drop episodes and handler errors. Default: none. */
  logger?: Logger;
  /** Per-subscriber buffer when `subscribe` does not say. Default 256. */
  defaultBufferSize?: number;
  /** Honour `SubscribeOptions.queue` (one delivery per group). Default true; false delivers to every subscriber. */
  workSharing?: boolean;
  /** Durable paths kept in the store (at least once per work-sharing group, through restarts). Default none. */
  durable?: LocalDurable;
}

/** What a publish on one topic reaches: plain subscribers, and per work-sharing group its matching members. */
interface Match {
  solo: SubscriptionQueue[];
  groups: Group[];
  /** solo.length + groups.length: zero means nobody listens. */
  count: number;
}

/** The members of one queue group that match one topic; `next` rotates deliveries among them. */
interface Group {
  members: SubscriptionQueue[];
  next: number;
}

/** Topics whose matches are cached; the cache is cleared when full or when subscriptions change. */
const MATCH_CACHE_LIMIT = 4096;
const RESOLVED = Promise.resolve();

/**
 * The in-process broker (default). Subscriptions live in a trie; the match
 * result per topic is cached until the subscription set changes, so a publish
 * costs one map lookup plus one ring-buffer write per matching subscriber.
 * Delivery runs in a microtask after publish returns, handlers one event at a time.
 * @example
 * const broker = new LocalBroker();
 * broker.subscribe("plugin.inbound.>", (e) => console.log(e.topic));
 * await broker.publish("plugin.inbound.echo", newEvent("plugin.inbound.echo", "cli", { text: "hi" }));
 */
export class LocalBroker implements Broker {
  private trie = new TopicTrie<SubscriptionQueue>();
  private readonly cache = new Map<string, Match>();
  private readonly scheduler = new DeliveryScheduler();
  private readonly counters = { published: 0, delivered: 0, dropped: 0 };
  private readonly subs = new Set<SubscriptionQueue>();
  /** Worker subscriptions served by the durable store, and the (queue, pattern) pairs already replayed. */
  private readonly durableSubs = new WeakSet<SubscriptionQueue>();
  private readonly replayed = new Set<string>();
  private readonly defaultBufferSize: number;
  private closed = false;
  private readonly onEnd = (s: SubscriptionQueue): void => {
    this.subs.delete(s);
    // On close the whole trie goes at once: removing 10,000 entries one by one is quadratic.
    if (!this.closed) this.trie.remove(s.pattern, s);
    this.cache.clear();
  };

  constructor(private readonly options: LocalBrokerOptions = {}) {
    this.defaultBufferSize = checkBufferSize(options.defaultBufferSize ?? DEFAULT_BUFFER_SIZE, "defaultBufferSize");
  }

  /** Validate, stamp `event.topic`, enqueue for each matching subscriber. Never waits for subscribers. */
  publish(topic: string, event: Event): Promise<void> {
    if (this.closed) return Promise.reject(new NexoError(ErrorCodes.BROKER_CLOSED, `broker is closed; cannot publish on ${topic}`, { topic }));
    let m: Match;
    try {
      m = this.matchesOf(topic);
    } catch (err) {
      return Promise.reject(err);
    }
    event.topic = topic;
    const durable = this.options.durable;
    if (durable !== undefined && m.groups.length > 0 && durable.covers(topic)) return this.publishDurable(durable, m, event);
    this.counters.published++;
    const solo = m.solo;
    for (let i = 0; i < solo.length; i++) solo[i].push(event);
    for (let i = 0; i < m.groups.length; i++) pickMember(m.groups[i]).push(event);
    return RESOLVED;
  }

  /** Keep the event for each durable group first, then deliver; resolves once kept. */
  private async publishDurable(durable: LocalDurable, m: Match, event: Event): Promise<void> {
    const kept = m.groups.filter((g) => this.durableSubs.has(g.members[0]));
    await durable.keep(
      kept.map((g) => g.members[0].queue!),
      event,
    );
    this.counters.published++;
    for (let i = 0; i < m.solo.length; i++) m.solo[i].push(event);
    for (const g of m.groups) {
      if (kept.includes(g)) this.deliverDurable(durable, g, event, 1);
      else pickMember(g).push(event);
    }
  }

  /** Deliver a kept event to a member of its group; forget it when handled, try again after a pause when not. */
  private deliverDurable(durable: LocalDurable, g: Group, event: Event, delivery: number): void {
    if (this.closed) return;
    const live = g.members.filter((s) => !s.isEnded);
    // Nobody of the group is left in this process: the store keeps it for the next start.
    if (live.length === 0) return;
    const queue = live[0].queue!;
    pickMember({ members: live, next: g.next++ }).push(event, (ok) => {
      if (ok) {
        void durable.done(queue, event.id);
        return;
      }
      void durable.failed(queue, event, delivery).then((again) => {
        if (again) setTimeout(() => this.deliverDurable(durable, g, event, delivery + 1), durable.retryMs * delivery).unref();
      });
    });
  }

  /** Hand a durable worker what its group left in the store (after a restart), once per group and pattern. */
  private async replay(durable: LocalDurable, sub: SubscriptionQueue): Promise<void> {
    const key = `${sub.queue}\n${sub.pattern}`;
    if (this.replayed.has(key)) return;
    this.replayed.add(key);
    try {
      const rows = await durable.pending(sub.queue!, sub.pattern);
      const group: Group = { members: [sub], next: 0 };
      for (const r of rows) this.deliverDurable(durable, group, r.event, r.deliveries + 1);
    } catch (err) {
      this.options.logger?.error({ err, queue: sub.queue, pattern: sub.pattern }, "durable events kept in the store could not be read");
    }
  }

  /** Durable path counters, when the broker has durable paths. */
  durableStats(): DurableStats | undefined {
    return this.options.durable ? { ...this.options.durable.counters, pending: 0 } : undefined;
  }

  /** True when a publish on `topic` now would reach at least one subscriber (false for an invalid topic or a closed broker). */
  hasSubscribers(topic: string): boolean {
    if (this.closed) return false;
    try {
      return this.matchesOf(topic).count > 0;
    } catch {
      return false;
    }
  }

  /** Subscriptions matching `topic`, cached until the subscription set changes. Throws for an invalid topic. */
  private matchesOf(topic: string): Match {
    let m = this.cache.get(topic);
    if (m === undefined) {
      // Only cache misses are validated: a cached topic was valid when it was cached.
      validateTopic(topic);
      m = this.group(this.trie.match(topic));
      if (this.cache.size >= MATCH_CACHE_LIMIT) this.cache.clear();
      this.cache.set(topic, m);
    }
    return m;
  }

  /** Split matches into plain subscribers and queue groups (one delivery per group, as NATS does across patterns). */
  private group(matches: SubscriptionQueue[]): Match {
    let byQueue: Map<string, SubscriptionQueue[]> | undefined;
    const solo: SubscriptionQueue[] = [];
    for (const s of matches) {
      const q = s.queue;
      if (q === undefined) {
        solo.push(s);
        continue;
      }
      byQueue ??= new Map();
      const members = byQueue.get(q);
      // A subscription whose patterns overlap appears once per pattern entry: count it once.
      if (!members) byQueue.set(q, [s]);
      else if (!members.includes(s)) members.push(s);
    }
    const groups: Group[] = byQueue ? [...byQueue.values()].map((members) => ({ members, next: 0 })) : [];
    return { solo, groups, count: solo.length + groups.length };
  }

  subscribe(pattern: string, handler?: EventHandler, options: SubscribeOptions = {}): Subscription {
    if (this.closed) throw new NexoError(ErrorCodes.BROKER_CLOSED, `broker is closed; cannot subscribe to ${pattern}`, { topic: pattern });
    validatePattern(pattern);
    const queue = this.options.workSharing === false ? undefined : options.queue;
    if (queue !== undefined) validateQueueName(queue);
    const sub = new SubscriptionQueue({
      pattern,
      name: options.name ?? pattern,
      ...(queue !== undefined ? { queue } : {}),
      capacity: options.bufferSize ?? this.defaultBufferSize,
      handler,
      scheduler: this.scheduler,
      logger: this.options.logger,
      counters: this.counters,
      onEnd: this.onEnd,
    });
    this.trie.add(pattern, sub);
    this.subs.add(sub);
    this.cache.clear();
    const durable = this.options.durable;
    if (durable !== undefined && queue !== undefined && handler !== undefined && durable.servesPattern(pattern)) {
      this.durableSubs.add(sub);
      void this.replay(durable, sub);
    }
    return sub;
  }

  stats(): BrokerStats {
    const durable = this.durableStats();
    return {
      published: this.counters.published,
      delivered: this.counters.delivered,
      dropped: this.counters.dropped,
      subscriptions: this.subs.size,
      ...(durable ? { durable } : {}),
    };
  }

  /** Ends every subscription (pending `next()` calls resolve `done`); later publishes reject with NEXO_ERR_BROKER_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subs]) s.unsubscribe();
    this.trie = new TopicTrie();
    this.cache.clear();
    await this.options.durable?.close();
  }
}

/** The next member of a group in turn, skipping one whose buffer is full while another has room. */
function pickMember(g: Group): SubscriptionQueue {
  const n = g.members.length;
  for (let i = 0; i < n; i++) {
    const s = g.members[g.next++ % n];
    if (!s.isFull) return s;
  }
  // Every member is full: the rotation's next one takes (and counts) the drop.
  return g.members[g.next++ % n];
}

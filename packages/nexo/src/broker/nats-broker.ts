import { connect, type NatsConnection, type Subscription as NatsSubscription } from "nats";
import type { Event } from "../contract/event.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { DEFAULT_BUFFER_SIZE, DeliveryScheduler, SubscriptionQueue } from "./subscription-queue.js";
import { validatePattern, validateTopic } from "./topic.js";
import type { Broker, BrokerStats, EventHandler, SubscribeOptions, Subscription } from "./types.js";

export interface NatsBrokerOptions {
  logger?: Logger;
  defaultBufferSize?: number;
  /** Connection name shown by the NATS server. Default "nexo". */
  name?: string;
  /** Give up connecting after this long. Default 5000 ms. */
  timeoutMs?: number;
  /** How long `close()` waits for in-flight messages to drain before closing hard. Default 2000 ms. */
  drainTimeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The distributed broker: topics are NATS subjects 1:1 (the wildcard rules are
 * the same), events travel as JSON. Each local subscriber still gets its own
 * bounded queue with the LocalBroker's ordering and overflow policy.
 */
export class NatsBroker implements Broker {
  private readonly scheduler = new DeliveryScheduler();
  private readonly counters = { published: 0, delivered: 0, dropped: 0 };
  private readonly subs = new Map<SubscriptionQueue, NatsSubscription>();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsBrokerOptions,
  ) {}

  /** Connect to `url` (nats://host:port). NEXO_ERR_BROKER_CONNECT names the URL on failure. */
  static async connect(url: string, options: NatsBrokerOptions = {}): Promise<NatsBroker> {
    try {
      const nc = await connect({ servers: url, name: options.name ?? "nexo", timeout: options.timeoutMs ?? 5000, maxReconnectAttempts: -1 });
      return new NatsBroker(nc, options);
    } catch (err) {
      throw new NexoError(ErrorCodes.BROKER_CONNECT, `cannot connect to NATS at ${url}: ${(err as Error).message}`, { cause: err });
    }
  }

  async publish(topic: string, event: Event): Promise<void> {
    if (this.closed) throw new NexoError(ErrorCodes.BROKER_CLOSED, `broker is closed; cannot publish on ${topic}`, { topic });
    validateTopic(topic);
    event.topic = topic;
    this.nc.publish(topic, encoder.encode(JSON.stringify(event)));
    this.counters.published++;
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
        this.subs.get(s)?.unsubscribe();
        this.subs.delete(s);
      },
    });
    const ns = this.nc.subscribe(pattern, {
      callback: (err, msg) => {
        if (err) {
          this.options.logger?.error({ err: err.message, pattern }, "NATS subscription error");
          return;
        }
        let event: Event;
        try {
          event = JSON.parse(decoder.decode(msg.data)) as Event;
        } catch {
          this.options.logger?.warn({ subject: msg.subject }, "NATS message is not a JSON event: dropped");
          return;
        }
        sub.push(event);
      },
    });
    this.subs.set(sub, ns);
    return sub;
  }

  /** Resolves when every publish so far has reached the server (tests, orderly shutdown). */
  async flush(): Promise<void> {
    await this.nc.flush();
  }

  stats(): BrokerStats {
    return { published: this.counters.published, delivered: this.counters.delivered, dropped: this.counters.dropped, subscriptions: this.subs.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subs.keys()]) s.unsubscribe();
    // drain() waits for the server; if it is gone (or reconnecting) do not hang the shutdown.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), this.options.drainTimeoutMs ?? 2000)));
    const outcome = await Promise.race([this.nc.drain().then(() => "drained" as const, () => "failed" as const), gaveUp]);
    clearTimeout(timer);
    if (outcome !== "drained" && !this.nc.isClosed()) await this.nc.close();
  }
}

import { connect, type NatsConnection, type Subscription as NatsSubscription } from "nats";
import { completeEvent, type Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { DurablePaths, type DurableOptions } from "./durable-paths.js";
import type { DurableSubscription } from "./durable-subscription.js";
import { LossLedger, type LossLedgerOptions } from "./loss-ledger.js";
import { checkBufferSize, DEFAULT_BUFFER_SIZE, DeliveryScheduler, LOG_EVERY, SubscriptionQueue } from "./subscription-queue.js";
import { validatePattern, validateQueueName, validateTopic } from "./topic.js";
import type { Broker, BrokerStats, EventHandler, SubscribeOptions, Subscription } from "./types.js";
import { errorMessage } from "../util/index.js";

/** Options of `NatsBroker.connect()`. */
export interface NatsBrokerOptions {
  /** Logs connection changes, drop episodes, handler errors and malformed messages. Default: none. */
  logger?: Logger;
  /** Per-subscriber buffer when `subscribe` does not say. Default 256. */
  defaultBufferSize?: number;
  /** Connection name shown by the NATS server. Default "nexo". */
  name?: string;
  /** Give up the first connection attempt after this long. Default 5000 ms. */
  timeoutMs?: number;
  /** How long `close()` waits for in-flight messages to drain before closing hard. Default 2000 ms. */
  drainTimeoutMs?: number;
  /** Honour `SubscribeOptions.queue` as NATS queue groups (one delivery per group in the cluster). Default true. */
  workSharing?: boolean;
  /** Topic patterns delivered at-least-once through JetStream, and their limits. Default: none (all at-most-once). */
  durable?: DurableOptions;
  /**
   * Count at-most-once events possibly lost around outages (`stats().possiblyLost`), by sync markers the
   * other NatsBrokers confirm (docs/cluster.md). `false` turns it off. Default: on, 100 ms markers, 10 s peer TTL.
   */
  lossAccounting?: LossLedgerOptions | false;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The distributed broker: topics are NATS subjects 1:1 (the wildcard rules are
 * the same), events travel as JSON. Each local subscriber still gets its own
 * bounded queue with the LocalBroker's ordering and overflow policy. After the
 * first connection, the client reconnects forever; publishes made meanwhile sit
 * in the client's bounded reconnect buffer.
 * @example
 * const broker = await NatsBroker.connect("nats://127.0.0.1:4222", { logger });
 */
export class NatsBroker implements Broker {
  private readonly scheduler = new DeliveryScheduler();
  private readonly counters = { published: 0, delivered: 0, dropped: 0 };
  private readonly subs = new Map<SubscriptionQueue, NatsSubscription>();
  private readonly durableSubs = new Set<DurableSubscription>();
  private readonly defaultBufferSize: number;
  private malformed = 0;
  /** At-most-once events not sent while the connection was down. */
  private unsent = 0;
  private connected = true;
  private closed = false;
  private readonly ledger: LossLedger | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly url: string,
    private readonly options: NatsBrokerOptions,
    private readonly durable: DurablePaths | undefined,
  ) {
    this.defaultBufferSize = checkBufferSize(options.defaultBufferSize ?? DEFAULT_BUFFER_SIZE, "defaultBufferSize");
    if (options.lossAccounting !== false) this.ledger = new LossLedger(nc, options.logger, options.lossAccounting ?? {});
    void this.watchStatus();
  }

  /** The NATS connection, for cluster services that share it (tool routing, shared state). */
  get connection(): NatsConnection {
    return this.nc;
  }

  /** True while the connection to NATS is up. */
  get isConnected(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  /** The durable topic patterns (empty when none are configured). */
  get durablePatterns(): readonly string[] {
    return this.durable?.patterns ?? [];
  }

  /** Connect to `url` (nats://host:port). NEXO_ERR_BROKER_CONNECT names the URL on failure. */
  static async connect(url: string, options: NatsBrokerOptions = {}): Promise<NatsBroker> {
    checkBufferSize(options.defaultBufferSize ?? DEFAULT_BUFFER_SIZE, "defaultBufferSize");
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: url, name: options.name ?? "nexo", timeout: options.timeoutMs ?? 5000, maxReconnectAttempts: -1 });
    } catch (err) {
      throw new NexoError(ErrorCodes.BROKER_CONNECT, `cannot connect to NATS at ${url}: ${(err as Error).message}`, { data: { url }, cause: err });
    }
    let durable: DurablePaths | undefined;
    if (options.durable && options.durable.patterns.length > 0) {
      try {
        durable = await DurablePaths.open(nc, url, options.durable, options.logger);
      } catch (err) {
        await nc.close().catch(() => undefined);
        throw err;
      }
    }
    return new NatsBroker(nc, url, options, durable);
  }

  /** True while open: subscribers in other processes are invisible from here, so none can be ruled out. */
  hasSubscribers(_topic: string): boolean {
    return !this.closed;
  }

  /**
   * Validate, stamp `event.topic`, send as JSON. On a durable path, resolves
   * once JetStream stored the event (waiting through an outage up to the
   * durable publish timeout, then rejecting with NEXO_ERR_BROKER_PUBLISH_FAILED).
   * Elsewhere, resolves once handed to the client; while the connection is
   * down the event is not sent, and counted in `stats().unsent`; an event
   * sent but caught by an outage before every peer confirmed it is counted
   * in `stats().possiblyLost` (an upper bound).
   */
  async publish(topic: string, event: Event): Promise<void> {
    if (this.closed || this.nc.isClosed()) throw new NexoError(ErrorCodes.BROKER_CLOSED, `broker is closed; cannot publish on ${topic}`, { topic });
    validateTopic(topic);
    event.topic = topic;
    if (this.durable?.covers(topic)) {
      await this.durable.publish(topic, event);
      this.counters.published++;
      return;
    }
    if (!this.connected) {
      // At-most-once: buffering in the client would hide which events a restart loses; an unsent event is counted instead.
      this.unsent++;
      if (this.unsent === 1 || this.unsent % LOG_EVERY === 0)
        this.options.logger?.warn({ topic, unsent: this.unsent, url: this.url }, "NATS is unreachable: event not sent (at-most-once topic)");
      return;
    }
    try {
      this.nc.publish(topic, encoder.encode(JSON.stringify(event)));
      this.ledger?.sent();
    } catch (err) {
      // The client refuses synchronously: payload over the server's max_payload, connection closing.
      throw new NexoError(ErrorCodes.BROKER_PUBLISH_FAILED, `NATS refused the event on ${topic}: ${(err as Error).message}`, { topic, data: { url: this.url }, cause: err });
    }
    this.counters.published++;
  }

  subscribe(pattern: string, handler?: EventHandler, options: SubscribeOptions = {}): Subscription {
    if (this.closed || this.nc.isClosed()) throw new NexoError(ErrorCodes.BROKER_CLOSED, `broker is closed; cannot subscribe to ${pattern}`, { topic: pattern });
    validatePattern(pattern);
    const queue = this.options.workSharing === false ? undefined : options.queue;
    if (queue !== undefined) validateQueueName(queue);
    if (queue !== undefined && handler !== undefined && this.durable?.servesPattern(pattern)) {
      const ds = this.durable.subscribe(pattern, queue, options.name ?? pattern, handler, (s) => this.durableSubs.delete(s));
      this.durableSubs.add(ds);
      return ds;
    }
    const sub = new SubscriptionQueue({
      pattern,
      name: options.name ?? pattern,
      ...(queue !== undefined ? { queue } : {}),
      capacity: options.bufferSize ?? this.defaultBufferSize,
      handler,
      scheduler: this.scheduler,
      logger: this.options.logger,
      counters: this.counters,
      onEnd: (s) => {
        this.subs.get(s)?.unsubscribe();
        this.subs.delete(s);
      },
    });
    // The callback form: nats.js hands each message over as it is parsed, so the only buffer is ours.
    const ns = this.nc.subscribe(pattern, {
      ...(queue !== undefined ? { queue } : {}),
      callback: (err, msg) => {
        if (err) {
          this.options.logger?.error({ err, subscription: sub.name, pattern }, "NATS subscription error");
          return;
        }
        // NATS's own traffic (request inboxes, JetStream and KV API, cluster tool routing) is no event; `>` sees it too.
        if (isInternalSubject(msg.subject)) return;
        let event: Event;
        try {
          event = completeEvent(JSON.parse(decoder.decode(msg.data)), msg.subject, "nats");
        } catch (e) {
          this.reportMalformed(msg.subject, e);
          return;
        }
        sub.push(event);
      },
    });
    this.subs.set(sub, ns);
    return sub;
  }

  /** Resolves when every publish and subscribe so far has reached the server and every durable consumer is fetching (tests, orderly shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.durableSubs].map((s) => s.ready));
    await this.nc.flush();
  }

  stats(): BrokerStats {
    let delivered = this.counters.delivered;
    for (const s of this.durableSubs) delivered += s.delivered;
    return {
      published: this.counters.published,
      delivered,
      dropped: this.counters.dropped,
      subscriptions: this.subs.size + this.durableSubs.size,
      unsent: this.unsent,
      ...(this.ledger ? { possiblyLost: this.unsent + this.ledger.possiblyLost, unconfirmed: this.ledger.unconfirmed, peers: this.ledger.peerCount } : {}),
      ...(this.durable ? { durable: this.durable.stats() } : {}),
    };
  }

  /** Ends every subscription, then drains the connection (bounded by `drainTimeoutMs`) and closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subs.keys()]) s.unsubscribe();
    for (const s of [...this.durableSubs]) s.unsubscribe();
    this.ledger?.close();
    if (this.nc.isClosed()) return;
    // drain() waits for the server; if it is gone (or reconnecting) do not hang the shutdown.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), this.options.drainTimeoutMs ?? 2000)));
    const outcome = await Promise.race([
      this.nc.drain().then(
        () => "drained" as const,
        () => "failed" as const,
      ),
      gaveUp,
    ]);
    clearTimeout(timer);
    if (outcome !== "drained" && !this.nc.isClosed()) await this.nc.close();
  }

  private reportMalformed(subject: string, err: unknown): void {
    this.malformed++;
    if (this.malformed === 1 || this.malformed % LOG_EVERY === 0) {
      this.options.logger?.warn({ subject, malformed: this.malformed, err: errorMessage(err) }, "NATS message is not a valid event: dropped");
    }
  }

  /** Track (and log) connection changes; ends when the connection closes. */
  private async watchStatus(): Promise<void> {
    const log = this.options.logger;
    try {
      for await (const s of this.nc.status()) {
        if (s.type === "disconnect") {
          this.connected = false;
          this.ledger?.onDisconnect();
          log?.warn({ url: this.url, server: s.data }, "NATS connection lost; reconnecting");
        } else if (s.type === "reconnect") {
          this.connected = true;
          this.ledger?.onReconnect();
          log?.info({ url: this.url, server: s.data, unsent: this.unsent }, "NATS connection restored");
        } else if (s.type === "ldm") log?.warn({ url: this.url, server: s.data }, "NATS server entering lame duck mode");
        else if (s.type === "error") log?.error({ url: this.url, detail: String(s.data) }, "NATS async error");
      }
    } catch (err) {
      log?.error({ url: this.url, err }, "NATS status watch failed");
    }
  }
}

/** Subjects NATS and the cluster services use for themselves. */
function isInternalSubject(subject: string): boolean {
  return subject.charCodeAt(0) === 36 /* $ */ || subject.startsWith("_INBOX.") || subject.startsWith("_nexo.");
}

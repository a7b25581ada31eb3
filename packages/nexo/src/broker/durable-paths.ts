import { createHash } from "node:crypto";
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection, type StreamConfig } from "nats";
import type { Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { DurableSubscription } from "./durable-subscription.js";
import { matchTopic, patternWithin, validatePattern } from "./topic.js";
import type { DurableStats, EventHandler } from "./types.js";

/** Durable paths of a NatsBroker: topic patterns whose events go through JetStream (docs/cluster.md). */
export interface DurableOptions {
  /** Topic patterns that must survive outages and restarts (e.g. `plugin.outbound.orders.>`). */
  patterns: string[];
  /** JetStream stream holding them. Default "NEXO_DURABLE". */
  stream?: string;
  /** Deliveries of one event to one group before it is given up (logged and counted). Default 5. */
  maxDeliver?: number;
  /** An event not acknowledged within this long is redelivered (to any member of the group). Default 30,000 ms. */
  ackWaitMs?: number;
  /** How long a durable publish may wait for NATS (outage, restart) before it fails loudly. Default 10,000 ms. */
  publishTimeoutMs?: number;
  /** Durable publishes allowed to wait at once; past it a publish fails at once. Default 10,000. */
  publishBuffer?: number;
  /** Stream limits: oldest kept event, bytes, events. Defaults 24 h, 1 GiB, 1,000,000. */
  maxAgeMs?: number;
  maxBytes?: number;
  maxMsgs?: number;
  /** JetStream drops a second publish of the same event id within this window. Default 120,000 ms. */
  duplicateWindowMs?: number;
  /** Events fetched ahead per subscription (held unacknowledged in the client). Default 64. */
  prefetch?: number;
}

/** The first delivery retry waits this long; later ones back off, up to the ack wait. */
const NAK_DELAY_MS = 250;
const RETRY_PAUSE_MS = 100;
const encoder = new TextEncoder();

const ns = (ms: number): number => Math.round(ms * 1_000_000);

/**
 * JetStream for the durable paths: one stream over every durable pattern
 * (interest retention: an event is kept until each consumer group has
 * acknowledged it; a full stream refuses new events rather than dropping
 * old unhandled ones), one durable pull consumer per queue group and pattern,
 * shared by every daemon serving that group. Publishes carry the event id as
 * `Nats-Msg-Id`, so a publish retried across an outage is stored once.
 */
export class DurablePaths {
  readonly patterns: readonly string[];
  readonly stream: string;
  private readonly js: JetStreamClient;
  private readonly o: Required<Omit<DurableOptions, "patterns" | "stream">>;
  readonly counters: Omit<DurableStats, "pending"> = { published: 0, publishFailed: 0, acked: 0, redelivered: 0, exhausted: 0 };
  private pending = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    options: DurableOptions,
    private readonly logger: Logger | undefined,
  ) {
    this.patterns = options.patterns;
    this.stream = options.stream ?? "NEXO_DURABLE";
    this.js = nc.jetstream();
    this.o = {
      maxDeliver: options.maxDeliver ?? 5,
      ackWaitMs: options.ackWaitMs ?? 30_000,
      publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
      publishBuffer: options.publishBuffer ?? 10_000,
      maxAgeMs: options.maxAgeMs ?? 24 * 3600_000,
      maxBytes: options.maxBytes ?? 1 << 30,
      maxMsgs: options.maxMsgs ?? 1_000_000,
      duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
      prefetch: options.prefetch ?? 64,
    };
  }

  /** Check the options, reach JetStream and create (or update) the stream. NEXO_ERR_BROKER_CONNECT when JetStream is off. */
  static async open(nc: NatsConnection, url: string, options: DurableOptions, logger: Logger | undefined): Promise<DurablePaths> {
    for (const p of options.patterns) validatePattern(p);
    let jsm: JetStreamManager;
    try {
      jsm = await nc.jetstreamManager();
    } catch (err) {
      throw new NexoError(ErrorCodes.BROKER_CONNECT, `durable paths need JetStream, but NATS at ${url} has none (start nats-server with -js): ${(err as Error).message}`, {
        data: { url },
        cause: err,
      });
    }
    const paths = new DurablePaths(nc, jsm, options, logger);
    await paths.ensureStream(url);
    return paths;
  }

  /** True when events on `topic` are durable. */
  covers(topic: string): boolean {
    for (const p of this.patterns) if (matchTopic(p, topic)) return true;
    return false;
  }

  /** True when a worker subscription on `pattern` is served by JetStream (its every topic is durable). */
  servesPattern(pattern: string): boolean {
    for (const p of this.patterns) if (patternWithin(pattern, p)) return true;
    return false;
  }

  stats(): DurableStats {
    return { ...this.counters, pending: this.pending };
  }

  /**
   * Store `event` in JetStream, retrying through an outage until
   * `publishTimeoutMs`; then, or when `publishBuffer` publishes already wait,
   * reject with NEXO_ERR_BROKER_PUBLISH_FAILED. Resolves only once stored.
   */
  async publish(topic: string, event: Event): Promise<void> {
    if (this.pending >= this.o.publishBuffer) {
      this.counters.publishFailed++;
      throw new NexoError(
        ErrorCodes.BROKER_PUBLISH_FAILED,
        `durable publish on ${topic} refused: ${this.pending} durable publishes already wait for NATS (publish_buffer ${this.o.publishBuffer}); the event was NOT stored`,
        {
          topic,
          data: { reason: "backlog_full", pending: this.pending },
        },
      );
    }
    this.pending++;
    const data = encoder.encode(JSON.stringify(event));
    const deadline = Date.now() + this.o.publishTimeoutMs;
    let lastErr: unknown;
    try {
      for (let attempt = 0; ; attempt++) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        try {
          await this.js.publish(topic, data, { msgID: event.id, timeout: Math.max(1, Math.min(left, 2000)) });
          this.counters.published++;
          return;
        } catch (err) {
          lastErr = err;
          if (this.nc.isClosed()) break;
          // A JetStream answer (stream full, subject outside the stream) will not change by waiting.
          if ((err as { api_error?: unknown }).api_error !== undefined) break;
        }
        await new Promise((r) => setTimeout(r, Math.min(RETRY_PAUSE_MS * 2 ** Math.min(attempt, 4), Math.max(1, deadline - Date.now()))));
      }
    } finally {
      this.pending--;
    }
    this.counters.publishFailed++;
    const why = lastErr instanceof Error ? lastErr.message : String(lastErr ?? "deadline passed");
    throw new NexoError(
      ErrorCodes.BROKER_PUBLISH_FAILED,
      `durable publish on ${topic} failed: JetStream did not store event ${event.id} within ${this.o.publishTimeoutMs} ms (${why}); the event was NOT stored`,
      {
        topic,
        data: { reason: "not_stored", eventId: event.id },
        cause: lastErr,
      },
    );
  }

  /** A worker subscription on a durable pattern: its queue group's consumer, shared with every daemon in the group. */
  subscribe(pattern: string, queue: string, name: string, handler: EventHandler, onEnd: (s: DurableSubscription) => void): DurableSubscription {
    const consumer = consumerName(queue, pattern);
    return new DurableSubscription({
      pattern,
      name,
      queue,
      handler,
      logger: this.logger,
      counters: this.counters,
      onEnd,
      maxDeliver: this.o.maxDeliver,
      nakDelayMs: NAK_DELAY_MS,
      open: async () => {
        await this.ensureConsumer(consumer, pattern);
        const c = await this.js.consumers.get(this.stream, consumer);
        return c.consume({ max_messages: this.o.prefetch });
      },
    });
  }

  private async ensureStream(url: string): Promise<void> {
    const config: Partial<StreamConfig> = {
      name: this.stream,
      subjects: [...this.patterns],
      retention: RetentionPolicy.Interest,
      discard: DiscardPolicy.New,
      storage: StorageType.File,
      max_age: ns(this.o.maxAgeMs),
      max_bytes: this.o.maxBytes,
      max_msgs: this.o.maxMsgs,
      duplicate_window: ns(this.o.duplicateWindowMs),
    };
    try {
      try {
        const info = await this.jsm.streams.info(this.stream);
        const same = JSON.stringify([...info.config.subjects].sort()) === JSON.stringify([...this.patterns].sort());
        if (!same) {
          // Another daemon's config differs: the union keeps both working; the operator sees the warning.
          const union = [...new Set([...info.config.subjects, ...this.patterns])];
          this.logger?.warn(
            { stream: this.stream, had: info.config.subjects, configured: this.patterns },
            "durable stream subjects differ from this daemon's durable patterns: using the union",
          );
          await this.jsm.streams.update(this.stream, { ...info.config, subjects: union });
        }
      } catch (err) {
        if ((err as { code?: string }).code !== "404") throw err;
        await this.jsm.streams.add(config);
      }
    } catch (err) {
      throw new NexoError(ErrorCodes.BROKER_CONNECT, `cannot set up the durable stream ${this.stream} on NATS at ${url}: ${(err as Error).message}`, {
        data: { url, stream: this.stream },
        cause: err,
      });
    }
  }

  private async ensureConsumer(durable: string, pattern: string): Promise<void> {
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      // A group new to the stream starts with what is published from now on; an existing one resumes where it was.
      deliver_policy: DeliverPolicy.New,
      filter_subject: pattern,
      max_deliver: this.o.maxDeliver,
      ack_wait: ns(this.o.ackWaitMs),
      max_ack_pending: Math.max(1000, this.o.prefetch * 16),
    };
    try {
      await this.jsm.consumers.info(this.stream, durable);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "404") throw err;
    }
    try {
      await this.jsm.consumers.add(this.stream, config);
    } catch (err) {
      // Two daemons of one group started together: the other one created it.
      await this.jsm.consumers.info(this.stream, durable).catch(() => {
        throw err;
      });
    }
  }
}

/** JetStream consumer name of a queue group on a pattern: readable prefix + a hash that keeps distinct pairs apart. */
export function consumerName(queue: string, pattern: string): string {
  const hash = createHash("sha256").update(`${queue}\n${pattern}`).digest("hex").slice(0, 12);
  return `${queue.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64)}_${hash}`;
}

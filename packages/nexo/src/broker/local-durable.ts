import type { Event } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { Migration, Store } from "../store/index.js";
import { matchTopic, patternWithin, validatePattern } from "./topic.js";
import type { DurableStats } from "./types.js";

/** Durable paths of the local broker: kept in the store until the group's handler finished. */
export interface LocalDurableOptions {
  /** Topic patterns delivered at least once. */
  patterns: string[];
  /** Deliveries of one event to one group before it is given up (logged, counted). Default 5. */
  maxDeliver?: number;
  /** Pause before a failed (or dropped) delivery is tried again. Default 250 ms. */
  retryMs?: number;
}

const MIGRATIONS: Migration[] = [
  {
    name: "001_pending_events",
    sql: `CREATE TABLE nexo_durable_events (
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  topic TEXT NOT NULL,
  body TEXT NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (queue, id)
)`,
  },
];

interface PendingRow {
  id: string;
  topic: string;
  body: string;
  deliveries: number;
  [key: string]: unknown;
}

/**
 * The store side of the local broker's durable paths: an event on a durable
 * topic is written once per work-sharing group that serves it before
 * `publish` resolves, and deleted when that group's handler finished; a
 * daemon that restarts hands the rows still there to the group's first
 * subscription again (at least once: a handler that finished just before a
 * crash can see its event again).
 */
export class LocalDurable {
  readonly patterns: readonly string[];
  readonly maxDeliver: number;
  readonly retryMs: number;
  readonly counters: Omit<DurableStats, "pending"> = { published: 0, publishFailed: 0, acked: 0, redelivered: 0, exhausted: 0 };

  private closed = false;

  private constructor(
    readonly store: Store,
    options: LocalDurableOptions,
    private readonly logger: Logger | undefined,
    private readonly ownsStore: boolean,
  ) {
    this.patterns = options.patterns;
    this.maxDeliver = options.maxDeliver ?? 5;
    this.retryMs = options.retryMs ?? 250;
  }

  /** Check the patterns and create the table (a migration of feature `broker_durable`). */
  static async open(store: Store, options: LocalDurableOptions & { ownsStore?: boolean }, logger?: Logger): Promise<LocalDurable> {
    for (const p of options.patterns) validatePattern(p);
    await store.migrate("broker_durable", MIGRATIONS);
    return new LocalDurable(store, options, logger, options.ownsStore ?? false);
  }

  /** Stop writing (the broker closes); close the store if it was opened for the broker. Rows not yet forgotten stay for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsStore) await this.store.close();
  }

  covers(topic: string): boolean {
    for (const p of this.patterns) if (matchTopic(p, topic)) return true;
    return false;
  }

  servesPattern(pattern: string): boolean {
    for (const p of this.patterns) if (patternWithin(pattern, p)) return true;
    return false;
  }

  /** Keep `event` for each of `queues`; rejects with NEXO_ERR_BROKER_PUBLISH_FAILED when the store refuses. */
  async keep(queues: string[], event: Event): Promise<void> {
    const body = JSON.stringify(event);
    try {
      await this.store.transaction(async (tx) => {
        for (const q of queues) {
          await tx.exec("INSERT INTO nexo_durable_events (queue, id, topic, body, deliveries, created_ms) VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (queue, id) DO NOTHING", [
            q,
            event.id,
            event.topic,
            body,
            Date.now(),
          ]);
        }
      });
    } catch (err) {
      this.counters.publishFailed++;
      throw new NexoError(
        ErrorCodes.BROKER_PUBLISH_FAILED,
        `durable publish on ${event.topic} failed: the store did not keep event ${event.id} (${(err as Error).message}); the event was NOT stored`,
        {
          topic: event.topic,
          data: { reason: "not_stored", eventId: event.id },
          cause: err,
        },
      );
    }
    this.counters.published++;
  }

  /** The group's handler finished: forget the event. */
  async done(queue: string, id: string): Promise<void> {
    this.counters.acked++;
    if (this.closed) return;
    await this.store
      .exec("DELETE FROM nexo_durable_events WHERE queue = ? AND id = ?", [queue, id])
      .catch((err: unknown) => this.logger?.error({ err, queue, id }, "durable event handled but not forgotten: it will be delivered again after a restart"));
  }

  /** A delivery failed: count it; resolves true when the event may be tried again, false when it was given up. */
  async failed(queue: string, event: Event, deliveries: number): Promise<boolean> {
    if (this.closed) return false;
    if (deliveries >= this.maxDeliver) {
      this.counters.exhausted++;
      this.logger?.error({ queue, eventId: event.id, topic: event.topic, deliveries }, "durable subscriber failed on the last allowed delivery: event given up");
      await this.store.exec("DELETE FROM nexo_durable_events WHERE queue = ? AND id = ?", [queue, event.id]).catch(() => undefined);
      return false;
    }
    this.counters.redelivered++;
    await this.store.exec("UPDATE nexo_durable_events SET deliveries = ? WHERE queue = ? AND id = ?", [deliveries, queue, event.id]).catch(() => undefined);
    return true;
  }

  /** Events still kept for `queue` on topics matching `pattern`, oldest first. */
  async pending(queue: string, pattern: string): Promise<Array<{ event: Event; deliveries: number }>> {
    const rows = await this.store.query<PendingRow>("SELECT id, topic, body, deliveries FROM nexo_durable_events WHERE queue = ? ORDER BY created_ms, id", [queue]);
    const out: Array<{ event: Event; deliveries: number }> = [];
    for (const r of rows) if (matchTopic(pattern, r.topic)) out.push({ event: JSON.parse(r.body) as Event, deliveries: Number(r.deliveries) });
    return out;
  }
}

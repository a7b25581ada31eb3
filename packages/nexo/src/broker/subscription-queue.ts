import type { Event } from "../contract/index.js";
import type { Logger } from "../log/index.js";
import type { EventHandler, Subscription } from "./types.js";

/** Default per-subscriber buffer (256; ADR 0002). */
export const DEFAULT_BUFFER_SIZE = 256;
/** Within one drop episode (or run of handler errors), one log line per this many. */
export const LOG_EVERY = 1000;
/** Largest accepted `bufferSize`; a bigger one is a configuration mistake, not a wish. */
export const MAX_BUFFER_SIZE = 1 << 20;

/** Delivery passes allowed within one macrotask turn before the scheduler yields to I/O. */
const PASSES_PER_TURN = 1024;

/**
 * Runs ready subscriptions in one microtask per burst instead of one per
 * event and subscriber: publish only enqueues, delivery happens right after.
 * Handlers that publish on every delivery would otherwise chain microtasks
 * forever and starve timers and I/O, so past PASSES_PER_TURN passes within one
 * macrotask turn the next pass waits for `setImmediate`.
 */
export class DeliveryScheduler {
  private ready: SubscriptionQueue[] = [];
  private scheduled = false;
  private passes = 0;
  private turnWatch = false;
  private readonly run = (): void => {
    this.scheduled = false;
    this.passes++;
    const list = this.ready;
    this.ready = [];
    for (let i = 0; i < list.length; i++) list[i].drain();
  };
  private readonly runAfterYield = (): void => {
    this.passes = 0;
    this.run();
  };
  private readonly newTurn = (): void => {
    this.turnWatch = false;
    this.passes = 0;
  };

  /** Queue `sub` for the next delivery pass (the caller ensures it is queued at most once). */
  schedule(sub: SubscriptionQueue): void {
    this.ready.push(sub);
    if (this.scheduled) return;
    this.scheduled = true;
    if (!this.turnWatch) {
      // Fires once the event loop gets a turn: proof that delivery is not starving it.
      this.turnWatch = true;
      setImmediate(this.newTurn);
    }
    if (this.passes < PASSES_PER_TURN) queueMicrotask(this.run);
    else setImmediate(this.runAfterYield);
  }
}

/** Told whether an event's handler finished (true) or failed or the event was dropped (false). */
export type DeliveryAck = (ok: boolean) => void;

/** What a broker passes to each of its subscription queues. */
export interface SubscriptionQueueOptions {
  pattern: string;
  name: string;
  /** Work-sharing group (see SubscribeOptions.queue), if any. */
  queue?: string;
  capacity: number;
  handler: EventHandler | undefined;
  scheduler: DeliveryScheduler;
  logger: Logger | undefined;
  /** Called once when the subscription ends (unsubscribe, iterator break, broker close). */
  onEnd: (sub: SubscriptionQueue) => void;
  /** Shared counters of the owning broker. */
  counters: { delivered: number; dropped: number };
}

/** Check a `bufferSize` option, naming the subscription, the value and its type. */
export function checkBufferSize(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_BUFFER_SIZE) {
    throw new TypeError(`subscription ${JSON.stringify(name)}: bufferSize must be an integer from 1 to ${MAX_BUFFER_SIZE}, got ${JSON.stringify(value)} (${typeof value})`);
  }
  return value;
}

/**
 * A bounded FIFO between the broker and one subscriber. Overflow policy: when
 * full, the NEW event is dropped (the subscriber keeps a gap-free prefix), the
 * drop is counted and logged with the subscription's name (docs/adr/0002).
 * Events reach a handler one at a time, in publish order; an async handler is
 * awaited before the next event. A throwing handler is logged and skipped.
 * Iterator queue design after nats.js `queued_iterator.ts`, but bounded.
 */
export class SubscriptionQueue implements Subscription {
  readonly pattern: string;
  readonly name: string;
  dropped = 0;
  delivered = 0;
  handlerErrors = 0;
  private readonly ring: Array<Event | undefined>;
  /** Per-slot completion callbacks of durable deliveries; allocated on the first one. */
  private acks: Array<DeliveryAck | undefined> | undefined;
  private head = 0;
  private size = 0;
  private busy = false;
  private queued = false;
  private ended = false;
  /** Drops since the buffer last ran empty; 0 outside an episode. */
  private episodeDrops = 0;
  /** Pending `next()` calls of an iterator; more than one only if a caller does not await. */
  private waiters: Array<(r: IteratorResult<Event>) => void> = [];
  private iterating = false;

  constructor(private readonly o: SubscriptionQueueOptions) {
    this.pattern = o.pattern;
    this.name = o.name;
    this.ring = new Array(checkBufferSize(o.capacity, o.name));
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Work-sharing group this subscription belongs to, if any. */
  get queue(): string | undefined {
    return this.o.queue;
  }

  /** True when a `push` now would be dropped (buffer full, no iterator waiting). */
  get isFull(): boolean {
    return this.size === this.ring.length && this.waiters.length === 0;
  }

  /**
   * Called by the broker for each matching event; never blocks, never throws.
   * `ack`, when given, hears once whether the handler finished (true) or
   * threw, or the event was dropped (false); an ended subscription never calls it.
   */
  push(event: Event, ack?: DeliveryAck): void {
    if (this.ended) return;
    if (this.waiters.length > 0) {
      // An iterator is parked waiting: hand over directly (the buffer is empty then).
      this.count();
      this.waiters.shift()!({ value: event, done: false });
      ack?.(true);
      return;
    }
    const cap = this.ring.length;
    if (this.size === cap) {
      this.drop(cap);
      ack?.(false);
      return;
    }
    const slot = (this.head + this.size) % cap;
    this.ring[slot] = event;
    if (ack !== undefined) (this.acks ??= new Array(cap))[slot] = ack;
    this.size++;
    if (this.o.handler !== undefined && !this.busy && !this.queued) {
      this.queued = true;
      this.o.scheduler.schedule(this);
    }
  }

  /** Deliver buffered events to the handler (called by the scheduler). */
  drain(): void {
    this.queued = false;
    const handler = this.o.handler;
    if (!handler) return;
    // Only what is buffered now: events a handler publishes to itself wait for the next pass.
    for (let n = this.size; n > 0 && this.size > 0 && !this.ended; n--) {
      const ack = this.acks?.[this.head];
      if (ack !== undefined) this.acks![this.head] = undefined;
      const ev = this.shift();
      this.count();
      let r: void | Promise<void>;
      try {
        r = handler(ev);
      } catch (err) {
        this.reportHandlerError(err);
        ack?.(false);
        continue;
      }
      if (r !== undefined && typeof (r as Promise<void>).then === "function") {
        this.busy = true;
        (r as Promise<void>).then(
          () => {
            ack?.(true);
            this.resume();
          },
          (err) => {
            this.reportHandlerError(err);
            ack?.(false);
            this.resume();
          },
        );
        return;
      }
      ack?.(true);
    }
    if (this.size > 0 && !this.ended && !this.queued) {
      this.queued = true;
      this.o.scheduler.schedule(this);
    }
  }

  unsubscribe(): void {
    if (this.ended) return;
    this.ended = true;
    for (let i = 0; i < this.ring.length; i++) this.ring[i] = undefined;
    // Unhandled durable events stay in their store: the next subscriber (or start) gets them.
    this.acks = undefined;
    this.size = 0;
    this.o.onEnd(this);
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<Event> {
    if (this.o.handler) throw new TypeError(`subscription ${JSON.stringify(this.name)} has a handler; subscribe without one to iterate`);
    if (this.iterating) throw new TypeError(`subscription ${JSON.stringify(this.name)} can be iterated only once`);
    this.iterating = true;
    return {
      next: (): Promise<IteratorResult<Event>> => {
        if (this.size > 0) {
          const ack = this.acks?.[this.head];
          if (ack !== undefined) this.acks![this.head] = undefined;
          const value = this.shift();
          this.count();
          ack?.(true);
          return Promise.resolve({ value, done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: (): Promise<IteratorResult<Event>> => {
        this.unsubscribe();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private count(): void {
    this.delivered++;
    this.o.counters.delivered++;
  }

  private shift(): Event {
    const ev = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.size--;
    if (this.size === 0 && this.episodeDrops > 0) this.endEpisode();
    return ev;
  }

  private drop(cap: number): void {
    this.dropped++;
    this.o.counters.dropped++;
    this.episodeDrops++;
    // First drop of an episode, then every LOG_EVERY-th: a flood costs a few lines, not one per event.
    if (this.o.logger && (this.episodeDrops === 1 || this.episodeDrops % LOG_EVERY === 0)) {
      this.o.logger.warn(
        { subscription: this.name, pattern: this.pattern, episodeDrops: this.episodeDrops, dropped: this.dropped, bufferSize: cap },
        "subscriber buffer full: dropping new events",
      );
    }
  }

  /** The subscriber caught up (its buffer ran empty): the drop episode is over. */
  private endEpisode(): void {
    this.o.logger?.info({ subscription: this.name, pattern: this.pattern, episodeDrops: this.episodeDrops, dropped: this.dropped }, "subscriber caught up after dropping events");
    this.episodeDrops = 0;
  }

  private resume(): void {
    this.busy = false;
    if (this.size > 0 && !this.queued && !this.ended) {
      this.queued = true;
      this.o.scheduler.schedule(this);
    }
  }

  private reportHandlerError(err: unknown): void {
    this.handlerErrors++;
    // Rate-limited like drops: a handler that throws on every event must not flood the log.
    if (this.o.logger && (this.handlerErrors === 1 || this.handlerErrors % LOG_EVERY === 0)) {
      this.o.logger.error(
        { subscription: this.name, pattern: this.pattern, handlerErrors: this.handlerErrors, err: err instanceof Error ? err : String(err) },
        "subscriber handler failed; event skipped",
      );
    }
  }
}

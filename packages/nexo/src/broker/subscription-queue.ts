import type { Event } from "../contract/event.js";
import type { Logger } from "../log/index.js";
import type { EventHandler, Subscription } from "./types.js";

/** Default per-subscriber buffer (issue 3: 256). */
export const DEFAULT_BUFFER_SIZE = 256;
/** One log line per this many drops on one subscription. */
const DROP_LOG_EVERY = 1000;

/**
 * Runs ready subscriptions in one microtask per burst instead of one per
 * event and subscriber: publish only enqueues, delivery happens right after.
 */
export class DeliveryScheduler {
  private ready: SubscriptionQueue[] = [];
  private scheduled = false;
  private readonly run = (): void => {
    this.scheduled = false;
    const list = this.ready;
    this.ready = [];
    for (let i = 0; i < list.length; i++) list[i].drain();
  };

  schedule(sub: SubscriptionQueue): void {
    this.ready.push(sub);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.run);
    }
  }
}

export interface SubscriptionQueueOptions {
  pattern: string;
  name: string;
  capacity: number;
  handler: EventHandler | undefined;
  scheduler: DeliveryScheduler;
  logger: Logger | undefined;
  /** Called once when the subscription ends (unsubscribe, iterator break, broker close). */
  onEnd: (sub: SubscriptionQueue) => void;
  /** Shared counters of the owning broker. */
  counters: { delivered: number; dropped: number };
}

/**
 * A bounded FIFO between the broker and one subscriber. Overflow policy: when
 * full, the NEW event is dropped (the subscriber keeps a gap-free prefix), the
 * drop is counted and logged with the subscription's name (docs/adr/0002).
 * Events reach a handler one at a time, in publish order; an async handler is
 * awaited before the next event. A throwing handler is logged and skipped.
 */
export class SubscriptionQueue implements Subscription {
  readonly pattern: string;
  readonly name: string;
  dropped = 0;
  delivered = 0;
  private readonly ring: Array<Event | undefined>;
  private head = 0;
  private size = 0;
  private busy = false;
  private queued = false;
  private ended = false;
  private waiter: ((r: IteratorResult<Event>) => void) | undefined;
  private iterating = false;

  constructor(private readonly o: SubscriptionQueueOptions) {
    this.pattern = o.pattern;
    this.name = o.name;
    this.ring = new Array(Math.max(1, o.capacity));
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Called by the broker for each matching event. */
  push(event: Event): void {
    if (this.ended) return;
    if (this.waiter) {
      // An iterator is parked waiting: hand over directly.
      const w = this.waiter;
      this.waiter = undefined;
      this.delivered++;
      this.o.counters.delivered++;
      w({ value: event, done: false });
      return;
    }
    const cap = this.ring.length;
    if (this.size === cap) {
      this.dropped++;
      this.o.counters.dropped++;
      if (this.o.logger && (this.dropped === 1 || this.dropped % DROP_LOG_EVERY === 0)) {
        this.o.logger.warn({ subscription: this.name, pattern: this.pattern, dropped: this.dropped, bufferSize: cap }, "subscriber buffer full: event dropped");
      }
      return;
    }
    this.ring[(this.head + this.size) % cap] = event;
    this.size++;
    if (this.o.handler && !this.busy && !this.queued) {
      this.queued = true;
      this.o.scheduler.schedule(this);
    }
  }

  /** Deliver buffered events to the handler (called by the scheduler). */
  drain(): void {
    this.queued = false;
    const handler = this.o.handler;
    if (!handler) return;
    while (this.size > 0 && !this.ended) {
      const ev = this.shift();
      this.delivered++;
      this.o.counters.delivered++;
      let r: void | Promise<void>;
      try {
        r = handler(ev);
      } catch (err) {
        this.reportHandlerError(err);
        continue;
      }
      if (r !== undefined && typeof (r as Promise<void>).then === "function") {
        this.busy = true;
        (r as Promise<void>).then(
          () => this.resume(),
          (err) => {
            this.reportHandlerError(err);
            this.resume();
          },
        );
        return;
      }
    }
  }

  unsubscribe(): void {
    if (this.ended) return;
    this.ended = true;
    for (let i = 0; i < this.ring.length; i++) this.ring[i] = undefined;
    this.size = 0;
    this.o.onEnd(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<Event> {
    if (this.o.handler) throw new TypeError("this subscription has a handler; subscribe without one to iterate");
    if (this.iterating) throw new TypeError("a subscription can be iterated only once");
    this.iterating = true;
    return {
      next: (): Promise<IteratorResult<Event>> => {
        if (this.size > 0) {
          this.delivered++;
          this.o.counters.delivered++;
          return Promise.resolve({ value: this.shift(), done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: (): Promise<IteratorResult<Event>> => {
        this.unsubscribe();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private shift(): Event {
    const ev = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.size--;
    return ev;
  }

  private resume(): void {
    this.busy = false;
    if (this.size > 0 && !this.queued && !this.ended) {
      this.queued = true;
      this.o.scheduler.schedule(this);
    }
  }

  private reportHandlerError(err: unknown): void {
    this.o.logger?.error({ subscription: this.name, pattern: this.pattern, err: err instanceof Error ? err.message : String(err) }, "subscriber handler threw; event skipped");
  }
}

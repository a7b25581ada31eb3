import type { ConsumerMessages, JsMsg } from "nats";
import { completeEvent, type Event } from "../contract/index.js";
import type { Logger } from "../log/index.js";
import { LOG_EVERY } from "./subscription-queue.js";
import type { DurableStats, EventHandler, Subscription } from "./types.js";
import { errorMessage } from "../util/index.js";

/** What DurablePaths passes to each durable subscription. */
export interface DurableSubscriptionOptions {
  pattern: string;
  name: string;
  queue: string;
  handler: EventHandler;
  logger: Logger | undefined;
  counters: Omit<DurableStats, "pending">;
  onEnd: (s: DurableSubscription) => void;
  maxDeliver: number;
  nakDelayMs: number;
  /** Create or bind the group's consumer and start pulling. */
  open: () => Promise<ConsumerMessages>;
}

const decoder = new TextDecoder();

/**
 * A worker subscription on a durable path: events come from the group's
 * JetStream consumer one at a time, in order; each is acknowledged once the
 * handler has finished, and a handler that throws gets the event again after
 * a pause, up to `maxDeliver` deliveries (then it is logged, counted and
 * dropped). Nothing is dropped for a slow handler: the consumer stops
 * fetching instead. A daemon that dies holding events leaves them
 * unacknowledged, and JetStream redelivers them to another member after the
 * ack wait.
 */
export class DurableSubscription implements Subscription {
  readonly pattern: string;
  readonly name: string;
  readonly queue: string;
  readonly dropped = 0;
  delivered = 0;
  handlerErrors = 0;
  /** Resolves once the consumer exists and fetching started (rejects if that failed). */
  readonly ready: Promise<void>;
  private messages: ConsumerMessages | undefined;
  private ended = false;

  constructor(private readonly o: DurableSubscriptionOptions) {
    this.pattern = o.pattern;
    this.name = o.name;
    this.queue = o.queue;
    this.ready = this.start();
    // Failures are logged in start(); `ready` is awaited by flush() and tests.
    this.ready.catch(() => undefined);
  }

  unsubscribe(): void {
    if (this.ended) return;
    this.ended = true;
    // Unacknowledged events stay with the consumer: another member (or this daemon after a restart) gets them.
    void this.messages?.close().catch(() => undefined);
    this.o.onEnd(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<Event> {
    throw new TypeError(`subscription ${JSON.stringify(this.name)} is a durable worker with a handler; subscribe without a queue to iterate`);
  }

  private async start(): Promise<void> {
    let messages: ConsumerMessages;
    try {
      messages = await this.o.open();
    } catch (err) {
      this.o.logger?.error({ err, subscription: this.name, pattern: this.pattern, queue: this.queue }, "durable subscription could not start");
      throw err;
    }
    if (this.ended) {
      await messages.close().catch(() => undefined);
      return;
    }
    this.messages = messages;
    void this.loop(messages);
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.ended) break;
        await this.handle(m);
      }
    } catch (err) {
      if (!this.ended) this.o.logger?.error({ err, subscription: this.name, pattern: this.pattern }, "durable subscription stopped");
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    if (m.redelivered) this.o.counters.redelivered++;
    let event: Event;
    try {
      event = completeEvent(JSON.parse(decoder.decode(m.data)), m.subject, "nats");
    } catch (err) {
      // Never valid, never will be: terminate instead of redelivering it max_deliver times.
      m.term();
      this.o.logger?.warn({ subject: m.subject, err: errorMessage(err) }, "durable message is not a valid event: dropped");
      return;
    }
    this.delivered++;
    try {
      await this.o.handler(event);
    } catch (err) {
      this.handlerErrors++;
      const deliveries = m.info.redeliveryCount;
      const last = deliveries >= this.o.maxDeliver;
      if (last) {
        this.o.counters.exhausted++;
        m.term();
      } else {
        m.nak(this.o.nakDelayMs * deliveries);
      }
      if (this.o.logger && (this.handlerErrors === 1 || this.handlerErrors % LOG_EVERY === 0 || last)) {
        this.o.logger.error(
          { subscription: this.name, pattern: this.pattern, eventId: event.id, delivery: deliveries, maxDeliver: this.o.maxDeliver, err: err instanceof Error ? err : String(err) },
          last ? "durable subscriber failed on the last allowed delivery: event given up" : "durable subscriber handler failed; the event will be redelivered",
        );
      }
      return;
    }
    m.ack();
    this.o.counters.acked++;
  }
}

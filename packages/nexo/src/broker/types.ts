import type { Event } from "../contract/event.js";

/** Called for each event matching a subscription, in publish order. */
export type EventHandler = (event: Event) => void | Promise<void>;

export interface SubscribeOptions {
  /**
   * Events buffered for this subscriber before the oldest undelivered ones are
   * dropped (counted and logged). Default 256.
   */
  bufferSize?: number;
  /** A label for logs and stats (e.g. `plugin:echo`). */
  name?: string;
}

/** A live subscription. `unsubscribe()` is idempotent. */
export interface Subscription extends AsyncIterable<Event> {
  readonly pattern: string;
  /** Events dropped because this subscriber's buffer was full. */
  readonly dropped: number;
  /** Events delivered so far. */
  readonly delivered: number;
  unsubscribe(): void;
}

export interface BrokerStats {
  published: number;
  delivered: number;
  dropped: number;
  subscriptions: number;
}

/**
 * The event bus. `LocalBroker` (in-process) and `NatsBroker` implement it and
 * pass the same contract suite. Topics are validated on publish; patterns on subscribe.
 */
export interface Broker {
  /** Publish `event` on `topic` (the event's `topic` field is set to `topic`). */
  publish(topic: string, event: Event): Promise<void>;
  /**
   * Subscribe with a pattern (`*` one segment, `>` one or more trailing).
   * Without a handler, iterate the returned subscription (`for await`); `break` unsubscribes.
   * With a handler, events are passed to it one at a time in order.
   */
  subscribe(pattern: string, handler?: EventHandler, options?: SubscribeOptions): Subscription;
  stats(): BrokerStats;
  /** Ends every subscription (iterators finish) and refuses further publishes. */
  close(): Promise<void>;
}

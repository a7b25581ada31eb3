import type { Event } from "../contract/index.js";

/**
 * Called for each event matching a subscription, in publish order. The event
 * object is shared by every subscriber of a LocalBroker: treat it as read-only.
 */
export type EventHandler = (event: Event) => void | Promise<void>;

/** Options of `Broker.subscribe`. */
export interface SubscribeOptions {
  /**
   * Events buffered for this subscriber; when full, newly published events are
   * dropped for it (counted and logged; docs/adr/0002). Integer 1..1,048,576. Default 256.
   */
  bufferSize?: number;
  /** A label for logs and stats (e.g. `plugin:echo`). Default: the pattern. */
  name?: string;
  /**
   * Work sharing: subscriptions given the same queue name form one group, and
   * each event reaches ONE member of the group (on NATS, across every daemon
   * of the cluster) instead of every subscriber. Use it for subscriptions that
   * do work (a plugin's delivery, a binding); leave it out for observers.
   * Ignored when the broker was built with `workSharing: false`.
   * 1..128 characters of `[A-Za-z0-9_.:-]`.
   */
  queue?: string;
}

/** A live subscription. `unsubscribe()` is idempotent. */
export interface Subscription extends AsyncIterable<Event> {
  readonly pattern: string;
  /** The label given at subscribe time (default: the pattern). */
  readonly name: string;
  /** Events dropped because this subscriber's buffer was full. */
  readonly dropped: number;
  /** Events delivered so far. */
  readonly delivered: number;
  /** Times the handler threw or rejected (each such event is skipped). */
  readonly handlerErrors: number;
  /** Stop delivery and end the iterator (a pending `next()` resolves `done`). Idempotent. */
  unsubscribe(): void;
}

/** Counters since the broker was created. */
export interface BrokerStats {
  /** Events accepted by `publish` (on NATS: sent by this process). */
  published: number;
  /** Events handed to a handler or an iterator, summed over subscriptions. */
  delivered: number;
  /** Events dropped because a subscriber's buffer was full. */
  dropped: number;
  /** Live subscriptions. */
  subscriptions: number;
  /**
   * NATS: events of at-most-once topics not sent because the connection to
   * NATS was down (counted, logged, never buffered). Absent on the local broker.
   */
  unsent?: number;
  /**
   * NATS: an upper bound of this process's at-most-once events lost around
   * outages: `unsent`, plus events sent but not confirmed by every other
   * Nexo broker when the connection dropped or a peer re-subscribed on a new
   * connection. Events lost in a dying daemon's own buffers are not in it.
   * Absent on the local broker and with `lossAccounting: false`.
   */
  possiblyLost?: number;
  /** NATS: at-most-once events sent that some peer has not confirmed yet (0 once every peer caught up). */
  unconfirmed?: number;
  /** NATS: other Nexo brokers confirming this one's events. */
  peers?: number;
  /** NATS with durable paths: JetStream traffic of this process. */
  durable?: DurableStats;
}

/** Counters of the durable paths (JetStream) of one process. */
export interface DurableStats {
  /** Events stored by JetStream (publish acknowledged). */
  published: number;
  /** Publishes that failed loudly (deadline passed, backlog full, stream full). */
  publishFailed: number;
  /** Durable publishes waiting for NATS right now. */
  pending: number;
  /** Events acknowledged after the handler finished. */
  acked: number;
  /** Deliveries that were a redelivery (a handler failed, or a daemon died holding the event). */
  redelivered: number;
  /** Events given up after the last allowed delivery failed. */
  exhausted: number;
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
  /**
   * False when publishing on `topic` now would reach no subscriber, so a
   * producer may skip building the event. A broker that cannot know every
   * subscriber (NATS: other processes subscribe too) answers true while open.
   * Never throws.
   */
  hasSubscribers(topic: string): boolean;
  /** Ends every subscription (iterators finish) and refuses further publishes. */
  close(): Promise<void>;
}

import type { FeedRequest, FeedResponse } from "../http-fetch.js";

/** One item a poll found: its dedupe id and what is delivered. */
export interface PolledItem {
  id: string;
  data: unknown;
}

/** What one poll saw. */
export interface PollOutcome {
  /** The server answered 304: nothing changed since the saved cursor. */
  notModified: boolean;
  /** Every item in the response, in delivery order (oldest first); the service drops the ones already seen. */
  items: PolledItem[];
  /** Validators to send next time (saved only once every new item has been delivered). */
  etag: string | null;
  lastModified: string | null;
}

/** What a kind gets for one poll. */
export interface PollContext {
  /** Validators saved by the last complete run. */
  cursor: { etag: string | null; lastModified: string | null };
  /** HTTP with the job's limits (deadline, body bound, private-network guard) applied. */
  fetch(req: FeedRequest): Promise<FeedResponse>;
  /** The service's clock, ms since the epoch. */
  now(): number;
}

/** Options every feed kind understands, beside its own. */
export interface FeedJobOptions {
  /** Most new items delivered per run; the rest wait for the next run. */
  maxPerTick: number;
  /** Size of the ring of seen ids kept per job. Must exceed the items one response can hold. */
  seenCapacity: number;
  /** Largest response body, in bytes. */
  maxBodyBytes: number;
  /** `allow_private_networks` inside the job's config (the reference system's place for it), if set. */
  allowPrivateNetworks?: boolean;
}

/**
 * A job kind: parses its `config` (a bad one is a permanent error that pauses
 * the job) and performs one poll. Scheduling, dedupe, delivery, leases and
 * the breaker are the service's.
 */
export interface PollerKind<C extends FeedJobOptions = FeedJobOptions> {
  readonly name: string;
  /** Check and normalize a job's `config`; throws a PollError of class `config` naming every problem. */
  parse(config: Record<string, unknown>, env: NodeJS.ProcessEnv): C;
  poll(config: C, ctx: PollContext): Promise<PollOutcome>;
}

import type { PollErrorClass } from "./poll-error.js";
import type { JobState } from "./poller-state.js";

/** Who a job is, as handed to `deliverToAgent`. */
export interface PollerJobInfo {
  id: string;
  kind: string;
  agent?: string;
  topic: string;
}

/** One new item, as handed to `deliverToAgent`. */
export interface PollerDelivery {
  /** The item's dedupe id. */
  id: string;
  /** The item (a JSON array element for webhook_poll, a normalized entry for rss). */
  data: unknown;
  /** Id of the broker event published for the same item. */
  eventId: string;
}

/**
 * Hands a new item to an agent (the daemon wires it to workflow execution).
 * A rejection leaves the item unseen, so the next run delivers it again.
 */
export type DeliverToAgent = (agent: string, item: PollerDelivery, job: PollerJobInfo) => Promise<void> | void;

/** How a run ended. `skipped_*`: it did not fetch. `aborted`: the service stopped (or lost the lease) mid-run. */
export type RunStatus =
  "ok" | "not_modified" | "transient" | "permanent" | "aborted" | "skipped_paused" | "skipped_breaker" | "skipped_not_due" | "skipped_lease" | "skipped_running";

/** Result of one run (what `nexo pollers run` prints). */
export interface RunResult {
  id: string;
  status: RunStatus;
  /** New items delivered. */
  itemsEmitted: number;
  /** Items in the response (new or not). */
  itemsSeen: number;
  durationMs: number;
  error?: { code: string; class: PollErrorClass; message: string };
  /** When the job is due next (ISO), if known. */
  nextRunAt: string | null;
}

/** In-process counters of one job (since this service started). */
export interface JobCounters {
  runs: number;
  itemsEmitted: number;
  errors: Partial<Record<PollErrorClass, number>>;
  lastLatencyMs: number | null;
  lastSuccessAt: string | null;
  lastStatus: RunStatus | null;
}

/** One job as `stats()` and `nexo pollers list` show it. */
export interface JobStatus extends JobCounters {
  id: string;
  kind: string;
  topic: string;
  agent: string | null;
  schedule: string;
  /** `active`, `paused`, `breaker_open` or `running` (here or on another daemon). */
  state: "active" | "paused" | "breaker_open" | "running";
  pauseReason: string | null;
  breaker: JobState["breakerState"];
  consecutiveErrors: number;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastError: string | null;
  /** Holder of the live lease, if a run is in progress somewhere. */
  leaseHolder: string | null;
}

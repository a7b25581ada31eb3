import type { Migration, Store } from "../store/index.js";

/** Circuit breaker position of a job. */
export type BreakerState = "closed" | "open" | "half_open";

/** What the store keeps per job (shared by every daemon on the store). */
export interface JobState {
  jobId: string;
  etag: string | null;
  lastModified: string | null;
  /** Id of the newest item delivered. */
  lastItemId: string | null;
  /** Bounded ring of delivered ids, oldest first. */
  seenIds: string[];
  paused: boolean;
  pauseReason: string | null;
  consecutiveErrors: number;
  breakerState: BreakerState;
  /** When an open breaker lets its half-open probe through (ms). */
  breakerUntil: number | null;
  /** Times the breaker opened in a row (the cooldown doubles each time). */
  breakerOpens: number;
  /** Earliest next scheduled run, whoever runs it (ms). */
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastSuccessAt: number | null;
  /** `ok`, `not_modified`, `transient` or `permanent`. */
  lastStatus: string | null;
  lastError: string | null;
  lastErrorCode: string | null;
  lastLatencyMs: number | null;
}

/** The pollers feature's schema; applied through `Store.migrate("pollers", ...)`. */
export const POLLER_MIGRATIONS: readonly Migration[] = [
  {
    name: "001_state_and_leases",
    sql: `
CREATE TABLE poller_state (
  job_id TEXT PRIMARY KEY,
  etag TEXT,
  last_modified TEXT,
  last_item_id TEXT,
  seen_ids TEXT NOT NULL DEFAULT '[]',
  paused INTEGER NOT NULL DEFAULT 0,
  pause_reason TEXT,
  consecutive_errors INTEGER NOT NULL DEFAULT 0,
  breaker_state TEXT NOT NULL DEFAULT 'closed',
  breaker_until BIGINT,
  breaker_opens INTEGER NOT NULL DEFAULT 0,
  next_run_at BIGINT,
  last_run_at BIGINT,
  last_success_at BIGINT,
  last_status TEXT,
  last_error TEXT,
  last_error_code TEXT,
  last_latency_ms INTEGER,
  updated_at BIGINT NOT NULL
);
CREATE TABLE poller_lease (
  job_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);`,
  },
];

/** A job that never ran. */
export function emptyState(jobId: string): JobState {
  return {
    jobId,
    etag: null,
    lastModified: null,
    lastItemId: null,
    seenIds: [],
    paused: false,
    pauseReason: null,
    consecutiveErrors: 0,
    breakerState: "closed",
    breakerUntil: null,
    breakerOpens: 0,
    nextRunAt: null,
    lastRunAt: null,
    lastSuccessAt: null,
    lastStatus: null,
    lastError: null,
    lastErrorCode: null,
    lastLatencyMs: null,
  };
}

const COLUMNS =
  "job_id, etag, last_modified, last_item_id, seen_ids, paused, pause_reason, consecutive_errors, breaker_state, breaker_until, breaker_opens, next_run_at, last_run_at, last_success_at, last_status, last_error, last_error_code, last_latency_ms";

/**
 * Job state and run leases on a `Store`. A run owns its job's cursor columns
 * while it holds the lease; `pause` / `resume` touch only the pause columns, so
 * an operator's pause is never overwritten by a run finishing elsewhere.
 */
export class PollerStateStore {
  constructor(readonly store: Store) {}

  /** Create or upgrade the tables. */
  async migrate(): Promise<void> {
    await this.store.migrate("pollers", POLLER_MIGRATIONS);
  }

  async load(jobId: string): Promise<JobState> {
    const rows = await this.store.query(`SELECT ${COLUMNS} FROM poller_state WHERE job_id = ?`, [jobId]);
    return rows.length ? fromRow(rows[0]) : emptyState(jobId);
  }

  async loadAll(): Promise<Map<string, JobState>> {
    const rows = await this.store.query(`SELECT ${COLUMNS} FROM poller_state`);
    return new Map(rows.map((r) => [String(r.job_id), fromRow(r)]));
  }

  /** Write what a run decided. `paused` is only ever set here (a permanent error), never cleared. */
  async saveRun(s: JobState, now: number): Promise<void> {
    await this.store.exec(
      `INSERT INTO poller_state (${COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET
         etag = excluded.etag, last_modified = excluded.last_modified, last_item_id = excluded.last_item_id,
         seen_ids = excluded.seen_ids,
         paused = CASE WHEN excluded.paused = 1 THEN 1 ELSE poller_state.paused END,
         pause_reason = CASE WHEN excluded.paused = 1 THEN excluded.pause_reason ELSE poller_state.pause_reason END,
         consecutive_errors = excluded.consecutive_errors, breaker_state = excluded.breaker_state,
         breaker_until = excluded.breaker_until, breaker_opens = excluded.breaker_opens,
         next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at, last_success_at = excluded.last_success_at,
         last_status = excluded.last_status, last_error = excluded.last_error, last_error_code = excluded.last_error_code,
         last_latency_ms = excluded.last_latency_ms, updated_at = excluded.updated_at`,
      [
        s.jobId,
        s.etag,
        s.lastModified,
        s.lastItemId,
        JSON.stringify(s.seenIds),
        s.paused,
        s.pauseReason,
        s.consecutiveErrors,
        s.breakerState,
        s.breakerUntil,
        s.breakerOpens,
        s.nextRunAt,
        s.lastRunAt,
        s.lastSuccessAt,
        s.lastStatus,
        s.lastError,
        s.lastErrorCode,
        s.lastLatencyMs,
        now,
      ],
    );
  }

  /** Pause (with a reason) or resume a job; resuming also makes it due now. */
  async setPaused(jobId: string, paused: boolean, reason: string | null, now: number): Promise<void> {
    await this.store.exec(
      `INSERT INTO poller_state (job_id, paused, pause_reason, next_run_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET paused = excluded.paused, pause_reason = excluded.pause_reason,
         next_run_at = CASE WHEN excluded.paused = 0 THEN excluded.next_run_at ELSE poller_state.next_run_at END,
         updated_at = excluded.updated_at`,
      [jobId, paused, paused ? reason : null, paused ? null : now, now],
    );
  }

  /** Forget everything about a job (cursor, seen ids, errors, breaker, pause). */
  async reset(jobId: string): Promise<void> {
    await this.store.exec("DELETE FROM poller_state WHERE job_id = ?", [jobId]);
  }

  /** Take the job's lease for `ttlMs` if it is free, expired, or already ours. */
  async acquireLease(jobId: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const r = await this.store.exec(
      `INSERT INTO poller_lease (job_id, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE poller_lease.expires_at <= ? OR poller_lease.holder = excluded.holder`,
      [jobId, holder, now + ttlMs, now],
    );
    return r.changes === 1;
  }

  /** Extend a lease we hold; false when it is no longer ours. */
  async renewLease(jobId: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const r = await this.store.exec("UPDATE poller_lease SET expires_at = ? WHERE job_id = ? AND holder = ?", [now + ttlMs, jobId, holder]);
    return r.changes === 1;
  }

  async releaseLease(jobId: string, holder: string): Promise<void> {
    await this.store.exec("DELETE FROM poller_lease WHERE job_id = ? AND holder = ?", [jobId, holder]);
  }

  /** Live leases by job id: who holds them. */
  async leases(now: number): Promise<Map<string, string>> {
    const rows = await this.store.query<{ job_id: string; holder: string }>("SELECT job_id, holder FROM poller_lease WHERE expires_at > ?", [now]);
    return new Map(rows.map((r) => [r.job_id, r.holder]));
  }
}

function fromRow(r: Record<string, unknown>): JobState {
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  let seen: string[] = [];
  try {
    const parsed = JSON.parse(String(r.seen_ids ?? "[]"));
    if (Array.isArray(parsed)) seen = parsed.map(String);
  } catch {
    // a damaged ring starts empty rather than wedging the job
  }
  return {
    jobId: String(r.job_id),
    etag: str(r.etag),
    lastModified: str(r.last_modified),
    lastItemId: str(r.last_item_id),
    seenIds: seen,
    paused: Number(r.paused) === 1,
    pauseReason: str(r.pause_reason),
    consecutiveErrors: Number(r.consecutive_errors ?? 0),
    breakerState: (str(r.breaker_state) ?? "closed") as BreakerState,
    breakerUntil: num(r.breaker_until),
    breakerOpens: Number(r.breaker_opens ?? 0),
    nextRunAt: num(r.next_run_at),
    lastRunAt: num(r.last_run_at),
    lastSuccessAt: num(r.last_success_at),
    lastStatus: str(r.last_status),
    lastError: str(r.last_error),
    lastErrorCode: str(r.last_error_code),
    lastLatencyMs: num(r.last_latency_ms),
  };
}

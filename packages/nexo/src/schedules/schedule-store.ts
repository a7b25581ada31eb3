import type { Migration, Store } from "../store/index.js";

/** The schedules feature's schema: one row per tick taken, and the no-overlap lease of each schedule. */
export const SCHEDULE_MIGRATIONS: readonly Migration[] = [
  {
    name: "001_ticks_and_leases",
    sql: `
CREATE TABLE nexo_schedule_ticks (
  schedule TEXT NOT NULL,
  tick_at BIGINT NOT NULL,
  holder TEXT NOT NULL,
  claimed_at BIGINT NOT NULL,
  outcome TEXT NOT NULL DEFAULT 'claimed',
  run_id TEXT,
  PRIMARY KEY (schedule, tick_at)
);
CREATE TABLE nexo_schedule_leases (
  schedule TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);`,
  },
];

/** A tick as recorded. */
export interface TickRecord {
  schedule: string;
  tickAt: number;
  holder: string;
  claimedAt: number;
  /** `claimed`, `started`, `skipped_overlap` or `refused`. */
  outcome: string;
  runId: string | null;
}

/**
 * Ticks and leases on a shared store. Taking a tick is one insert on its
 * primary key: of several daemons, exactly one gets each tick.
 */
export class ScheduleStore {
  constructor(readonly store: Store) {}

  async migrate(): Promise<void> {
    await this.store.migrate("schedules", SCHEDULE_MIGRATIONS);
  }

  /** True when this daemon took the tick (nobody had). */
  async claimTick(schedule: string, tickAt: number, holder: string, now: number): Promise<boolean> {
    const r = await this.store.exec(`INSERT INTO nexo_schedule_ticks (schedule, tick_at, holder, claimed_at) VALUES (?, ?, ?, ?) ON CONFLICT (schedule, tick_at) DO NOTHING`, [
      schedule,
      tickAt,
      holder,
      now,
    ]);
    return r.changes === 1;
  }

  async setOutcome(schedule: string, tickAt: number, outcome: string, runId: string | null): Promise<void> {
    await this.store.exec(`UPDATE nexo_schedule_ticks SET outcome = ?, run_id = ? WHERE schedule = ? AND tick_at = ?`, [outcome, runId, schedule, tickAt]);
  }

  /** Take (or renew) the schedule's run lease unless another holder's is still valid. */
  async takeLease(schedule: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const r = await this.store.exec(
      `INSERT INTO nexo_schedule_leases (schedule, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (schedule) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE nexo_schedule_leases.holder = excluded.holder OR nexo_schedule_leases.expires_at < ?`,
      [schedule, holder, now + ttlMs, now],
    );
    return r.changes === 1;
  }

  async releaseLease(schedule: string, holder: string): Promise<void> {
    await this.store.exec(`DELETE FROM nexo_schedule_leases WHERE schedule = ? AND holder = ?`, [schedule, holder]);
  }

  /** Ticks of `schedule`, oldest first (for `nexo runs` and tests). */
  async ticks(schedule: string, limit = 100): Promise<TickRecord[]> {
    const rows = await this.store.query(`SELECT schedule, tick_at, holder, claimed_at, outcome, run_id FROM nexo_schedule_ticks WHERE schedule = ? ORDER BY tick_at DESC LIMIT ?`, [
      schedule,
      limit,
    ]);
    return rows
      .map((r) => ({
        schedule: String(r.schedule),
        tickAt: Number(r.tick_at),
        holder: String(r.holder),
        claimedAt: Number(r.claimed_at),
        outcome: String(r.outcome),
        runId: r.run_id === null ? null : String(r.run_id),
      }))
      .reverse();
  }

  /** Forget ticks older than `before`. */
  async sweep(before: number): Promise<void> {
    await this.store.exec(`DELETE FROM nexo_schedule_ticks WHERE tick_at < ?`, [before]);
  }
}

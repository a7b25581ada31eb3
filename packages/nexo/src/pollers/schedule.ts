import { Cron } from "croner";
import type { PollerSchedule } from "../config/index.js";

/**
 * When a job runs next. `every_secs` counts from the end of the previous run
 * (a slow run never piles up runs); `cron` fires on the expression's next
 * instant in its time zone. Jitter is added on top, for `every_secs` never more
 * than a quarter of the interval.
 */
export class JobSchedule {
  private readonly cron: Cron | undefined;
  private readonly intervalMs: number | undefined;
  private readonly jitterMs: number;

  constructor(schedule: PollerSchedule, defaultJitterMs: number) {
    const jitter = schedule.jitterMs ?? defaultJitterMs;
    if (schedule.cron !== undefined) {
      this.cron = new Cron(schedule.cron, { paused: true, ...(schedule.tz ? { timezone: schedule.tz } : {}) });
      this.jitterMs = jitter;
    } else {
      this.intervalMs = (schedule.everySecs ?? 60) * 1000;
      this.jitterMs = Math.min(jitter, this.intervalMs / 4);
    }
  }

  /** The first run after `from` (ms), jitter included; Infinity when a cron expression never fires again. */
  next(from: number, random: () => number = Math.random): number {
    const jitter = this.jitterMs > 0 ? random() * this.jitterMs : 0;
    if (this.cron) {
      const at = this.cron.nextRun(new Date(from));
      return at ? at.getTime() + jitter : Number.POSITIVE_INFINITY;
    }
    return from + this.intervalMs! + jitter;
  }
}

/** A schedule in words, for `nexo pollers list`. */
export function describeSchedule(schedule: PollerSchedule): string {
  return schedule.cron !== undefined ? `cron ${schedule.cron}${schedule.tz ? ` (${schedule.tz})` : ""}` : `every ${schedule.everySecs}s`;
}

import type { JobState } from "./poller-state.js";
import type { PollerJobConfig } from "../config/index.js";
import { describeSchedule } from "./schedule.js";
import type { JobCounters, JobStatus } from "./types.js";

/**
 * One job as `nexo pollers list` shows it: its config, its stored state (shared
 * by every daemon on the store) and this process's counters. A live lease makes
 * it `running`, wherever the run is.
 */
export function describeJob(cfg: PollerJobConfig, s: JobState, counters: JobCounters, leaseHolder: string | null): JobStatus {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const state: JobStatus["state"] = leaseHolder ? "running" : s.paused ? "paused" : s.breakerState === "open" ? "breaker_open" : "active";
  return {
    id: cfg.id,
    kind: cfg.kind,
    topic: cfg.topic,
    agent: cfg.agent ?? null,
    schedule: describeSchedule(cfg.schedule),
    state,
    pauseReason: s.paused ? s.pauseReason : null,
    breaker: s.breakerState,
    consecutiveErrors: s.consecutiveErrors,
    nextRunAt: iso(s.nextRunAt),
    lastRunAt: iso(s.lastRunAt),
    lastError: s.lastError,
    leaseHolder,
    ...counters,
    errors: { ...counters.errors },
    lastSuccessAt: counters.lastSuccessAt ?? iso(s.lastSuccessAt),
  };
}

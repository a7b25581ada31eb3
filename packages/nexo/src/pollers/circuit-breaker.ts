import type { JobState } from "./poller-state.js";

/** How a job's breaker and backoff behave (from the pollers config). */
export interface FailurePolicy {
  /** Consecutive transient errors that open the breaker. */
  threshold: number;
  /** First open period, ms; doubles each time a probe fails, up to 32 times. */
  cooldownMs: number;
  /** First retry delay after a transient error, ms; doubles per consecutive error. */
  backoffBaseMs: number;
  /** Longest retry delay, ms. */
  backoffMaxMs: number;
}

/** What a scheduled run may do given the breaker: run normally, run as the half-open probe, or wait. */
export function breakerGate(s: JobState, now: number): "run" | "probe" | "wait" {
  if (s.breakerState === "closed") return "run";
  if (s.breakerState === "open" && s.breakerUntil !== null && now < s.breakerUntil) return "wait";
  return "probe";
}

/** A run that worked: errors forgotten, breaker closed. */
export function recordSuccess(s: JobState): void {
  s.consecutiveErrors = 0;
  s.breakerState = "closed";
  s.breakerUntil = null;
  s.breakerOpens = 0;
}

/**
 * A transient failure: one more consecutive error; the breaker opens when the
 * threshold is reached or a half-open probe failed. Returns the earliest time
 * the job may run again (backoff with jitter, at least `retryAfterMs`, or the
 * end of the open period).
 */
export function recordTransient(s: JobState, policy: FailurePolicy, now: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  s.consecutiveErrors += 1;
  const probing = s.breakerState !== "closed";
  if (probing || s.consecutiveErrors >= policy.threshold) {
    s.breakerOpens += 1;
    s.breakerState = "open";
    const cooldown = policy.cooldownMs * 2 ** Math.min(s.breakerOpens - 1, 5);
    s.breakerUntil = now + Math.max(cooldown, retryAfterMs ?? 0);
    return s.breakerUntil;
  }
  // "Equal jitter": half the delay fixed, half random, so retries of many jobs spread out.
  const exp = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (s.consecutiveErrors - 1));
  const delay = exp / 2 + random() * (exp / 2);
  return now + Math.max(delay, retryAfterMs ?? 0);
}

/** Breaker state as a gauge value: 0 closed, 1 half-open, 2 open. */
export function breakerGaugeValue(s: JobState["breakerState"]): number {
  return s === "closed" ? 0 : s === "half_open" ? 1 : 2;
}

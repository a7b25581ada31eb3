import assert from "node:assert/strict";
import { test } from "node:test";
import { breakerGate, recordSuccess, recordTransient } from "../../src/pollers/circuit-breaker.js";
import { emptyState } from "../../src/pollers/poller-state.js";
import { JobSchedule, parseRetryAfter } from "../../src/pollers/index.js";

test("pollers - schedule: every_secs counts from the end of the run; jitter never exceeds a quarter of the interval", () => {
  const s = new JobSchedule({ everySecs: 10 }, 60_000);
  assert.equal(
    s.next(1_000_000, () => 0),
    1_010_000,
  );
  assert.equal(
    s.next(1_000_000, () => 0.999999),
    1_010_000 + 0.999999 * 2500,
  );
  assert.equal(
    new JobSchedule({ everySecs: 10, jitterMs: 100 }, 60_000).next(0, () => 0.5),
    10_050,
  );
});

test("pollers - schedule: cron is read in its time zone (09:00 Bogota = 14:00 UTC), 6-field cron has seconds", () => {
  const from = Date.parse("2026-03-10T12:00:00Z");
  assert.equal(new Date(new JobSchedule({ cron: "0 9 * * *", tz: "America/Bogota" }, 0).next(from)).toISOString(), "2026-03-10T14:00:00.000Z");
  assert.equal(new Date(new JobSchedule({ cron: "0 9 * * *" }, 0).next(from)).toISOString(), "2026-03-11T09:00:00.000Z");
  assert.equal(new Date(new JobSchedule({ cron: "*/15 * * * * *" }, 0).next(from)).toISOString(), "2026-03-10T12:00:15.000Z");
  assert.equal(new JobSchedule({ cron: "0 0 0 1 1 * 2020" }, 0).next(from), Number.POSITIVE_INFINITY);
});

test("pollers - breaker: opens after the threshold, waits its cooldown, probes half-open, doubles the cooldown when the probe fails, closes on success", () => {
  const policy = { threshold: 3, cooldownMs: 60_000, backoffBaseMs: 1000, backoffMaxMs: 300_000 };
  const s = emptyState("j");
  const zero = (): number => 0;
  assert.equal(recordTransient(s, policy, 0, undefined, zero), 500); // equal jitter: half of 1 s at least
  assert.equal(
    recordTransient(s, policy, 0, undefined, () => 1),
    2000,
  ); // 2 s after the second error, at most
  assert.equal(s.breakerState, "closed");
  assert.equal(breakerGate(s, 0), "run");
  assert.equal(recordTransient(s, policy, 10_000, undefined, zero), 70_000);
  assert.equal(s.breakerState, "open");
  assert.equal(breakerGate(s, 69_999), "wait");
  assert.equal(breakerGate(s, 70_000), "probe");
  s.breakerState = "half_open";
  assert.equal(recordTransient(s, policy, 70_000, undefined, zero), 70_000 + 120_000);
  assert.equal(s.breakerOpens, 2);
  recordSuccess(s);
  assert.deepEqual([s.breakerState, s.consecutiveErrors, s.breakerOpens, s.breakerUntil], ["closed", 0, 0, null]);
  // Retry-After wins when it asks for longer than the backoff.
  assert.equal(recordTransient(s, policy, 0, 7000, zero), 7000);
});

test("pollers - Retry-After: delta seconds or an HTTP date, capped at a day", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("999999", now), 86_400_000);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_BACKOFF_MS, RestartPolicy, StderrTail } from "../../src/host/index.js";

test("host - restart policy doubles the backoff per attempt and gives up after max_attempts", () => {
  const p = new RestartPolicy({ respawn: true, maxAttempts: 3, backoffMs: 100, jitter: 0, random: () => 0.5 });
  assert.deepEqual(p.onCrash(10), { respawn: true, attempt: 1, delayMs: 100 });
  assert.deepEqual(p.onCrash(10), { respawn: true, attempt: 2, delayMs: 200 });
  assert.deepEqual(p.onCrash(10), { respawn: true, attempt: 3, delayMs: 400 });
  assert.deepEqual(p.onCrash(10), { respawn: false, attempt: 3, reason: "gave_up" });
});

test("host - restart policy caps the delay at 60 s and applies jitter within bounds", () => {
  const lo = new RestartPolicy({ respawn: true, maxAttempts: 100, backoffMs: 1000, jitter: 0.2, random: () => 0 });
  const hi = new RestartPolicy({ respawn: true, maxAttempts: 100, backoffMs: 1000, jitter: 0.2, random: () => 0.999999 });
  assert.equal(lo.delayFor(1), 800);
  assert.equal(hi.delayFor(1), 1200);
  assert.equal(lo.delayFor(20), 48_000);
  assert.equal(hi.delayFor(20), MAX_BACKOFF_MS);
});

test("host - restart policy resets the counter after a stable run, and respects respawn=false", () => {
  const p = new RestartPolicy({ respawn: true, maxAttempts: 2, backoffMs: 10, stableAfterMs: 1000, jitter: 0 });
  p.onCrash(1);
  p.onCrash(1);
  assert.equal(p.onCrash(1).respawn, false);
  assert.deepEqual(p.onCrash(5000), { respawn: true, attempt: 1, delayMs: 10 });
  const off = new RestartPolicy({ respawn: false, maxAttempts: 3, backoffMs: 10 });
  assert.deepEqual(off.onCrash(1), { respawn: false, attempt: 0, reason: "disabled" });
});

test("host - stderr tail keeps the last N lines, splits chunks and bounds line length", () => {
  const seen: string[] = [];
  const tail = new StderrTail(3, (l) => seen.push(l));
  tail.push("one\ntw");
  tail.push("o\r\nthree\nfour\nfi");
  assert.deepEqual(tail.snapshot(), ["two", "three", "four"]);
  tail.end();
  assert.deepEqual(tail.snapshot(), ["three", "four", "fi"]);
  assert.deepEqual(seen, ["one", "two", "three", "four", "fi"]);
  const big = new StderrTail(2);
  big.push("x".repeat(StderrTail.MAX_LINE_CHARS * 3));
  for (const l of big.snapshot()) assert.ok(l.length <= StderrTail.MAX_LINE_CHARS + 1);
});

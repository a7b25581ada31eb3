import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../src/backoff.js";

const opts = { initialMs: 100, maxMs: 1000, jitter: 0.2 };

test("ws-gateway-ts backoff - doubles per attempt from initialMs and stops growing at maxMs", () => {
  const mid = () => 0.5; // no jitter
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 100].map((n) => backoffDelay(n, opts, mid)),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
});

test("ws-gateway-ts backoff - jitter spreads each delay by at most ±jitter, both ways", () => {
  assert.equal(
    backoffDelay(3, opts, () => 0),
    320,
  );
  assert.equal(
    backoffDelay(3, opts, () => 0.999999),
    480,
  );
  assert.equal(
    backoffDelay(9, opts, () => 0),
    800,
  );
  assert.equal(
    backoffDelay(9, { ...opts, jitter: 0 }, () => 0),
    1000,
  );
});

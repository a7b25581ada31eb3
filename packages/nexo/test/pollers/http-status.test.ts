import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes, errorWire } from "../../src/errors.js";
import { checkStatus } from "../../src/pollers/http-fetch.js";
import { PollError } from "../../src/pollers/poll-error.js";

function answered(status: number, headers: Record<string, string> = {}): unknown {
  try {
    checkStatus({ status, headers, body: Buffer.alloc(0), url: "http://feed.test/rss" }, Date.parse("2026-01-01T00:00:00Z"));
  } catch (err) {
    return err;
  }
  return undefined;
}

test("pollers - a feed's status is kept as upstreamStatus in data; the error's own HTTP status is the catalogue's, never the feed's", () => {
  assert.equal(answered(200), undefined);
  assert.equal(answered(304), undefined);
  for (const [status, errorClass] of [
    [503, "http_5xx"],
    [429, "http_429"],
    [404, "http_4xx"],
    [408, "timeout"],
  ] as const) {
    const err = answered(status, { "retry-after": "7" });
    assert.ok(err instanceof PollError, `${status} is a PollError`);
    assert.equal(err.code, ErrorCodes.POLLER_HTTP_STATUS);
    assert.equal(err.errorClass, errorClass);
    assert.equal(err.upstreamStatus, status);
    assert.equal((err.details.data as { upstreamStatus?: number }).upstreamStatus, status);
    assert.equal(err.details.httpStatus, undefined, "no ad hoc status");
    assert.equal(err.httpStatus, errorWire(ErrorCodes.POLLER_HTTP_STATUS)?.status ?? 500);
  }
  assert.equal((answered(503, { "retry-after": "7" }) as PollError).retryAfterMs, 7000);
});

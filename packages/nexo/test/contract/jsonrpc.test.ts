import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyFrame, completeEvent, makeError, newEvent, RpcError, RpcErrorCodes, rpcCodeName } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";

test("contract - classifyFrame sorts requests, notifications, responses and invalid frames", () => {
  const cases: Array<[unknown, string]> = [
    [{ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }, "request"],
    [{ jsonrpc: "2.0", id: "abc", method: "x" }, "request"],
    [{ jsonrpc: "2.0", method: "broker.event", params: { topic: "a" } }, "notification"],
    [{ jsonrpc: "2.0", id: 1, result: null }, "response"],
    [{ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse" } }, "response"],
    [{ id: 1, method: "x" }, "invalid"],
    [{ jsonrpc: "1.0", id: 1, method: "x" }, "invalid"],
    [{ jsonrpc: "2.0", id: {}, method: "x" }, "invalid"],
    [{ jsonrpc: "2.0", id: 1, method: 5 }, "invalid"],
    [{ jsonrpc: "2.0", id: 1, method: "x", params: "str" }, "invalid"],
    [{ jsonrpc: "2.0", id: 1, result: 1, error: { code: 1, message: "" } }, "invalid"],
    [{ jsonrpc: "2.0", id: 1 }, "invalid"],
    [{ jsonrpc: "2.0", id: 1, error: { code: "x" } }, "invalid"],
    [[{ jsonrpc: "2.0", method: "x" }], "invalid"],
    ["text", "invalid"],
    [null, "invalid"],
  ];
  for (const [v, kind] of cases) assert.equal(classifyFrame(v).kind, kind, JSON.stringify(v));
  const inv = classifyFrame({ jsonrpc: "1.0", id: 7, method: "x" });
  assert.equal(inv.kind === "invalid" && inv.id, 7, "invalid frames keep a usable id for the error reply");
});

test("contract - every contract error code has a name, and RpcError round-trips", () => {
  assert.equal(rpcCodeName(-33401), "TOOL_NOT_FOUND");
  assert.equal(rpcCodeName(-33004), "CHANNEL_RATE_LIMITED");
  assert.equal(rpcCodeName(-32050), "SERVER_ERROR");
  assert.equal(rpcCodeName(1), "UNKNOWN");
  for (const code of [
    -32700, -32600, -32601, -32602, -32603, -32000, -33001, -33002, -33003, -33004, -33005, -33101, -33102, -33103, -33104, -33105, -33401, -33402, -33403, -33404, -33405,
  ]) {
    assert.notEqual(rpcCodeName(code), "UNKNOWN", String(code));
  }
  const e = new RpcError(RpcErrorCodes.TOOL_UNAVAILABLE, "busy", { retry_after_ms: 100 });
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: -33404, message: "busy", data: { retry_after_ms: 100 } });
  assert.deepEqual(RpcError.from(makeError(1, -33404, "busy", { retry_after_ms: 100 }).error).toJSON(), e.toJSON());
  assert.equal(e.name, "RpcError(TOOL_UNAVAILABLE)");
});

test("contract - newEvent sets all six fields with a time-ordered UUID v7 and RFC 3339 UTC timestamp", async () => {
  const a = newEvent("a.b", "src", { x: 1 });
  await new Promise((r) => setTimeout(r, 2));
  const b = newEvent("a.b", "src", null, { sessionId: "s", correlationId: "c" });
  assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(a.id < b.id, "v7 ids sort by time");
  assert.match(a.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(Object.keys(a).sort(), ["id", "payload", "session_id", "source", "timestamp", "topic"]);
  assert.equal(b.session_id, "s");
  assert.equal(b.correlation_id, "c");
});

test("contract - completeEvent fills missing id/timestamp/session_id and rejects malformed events", () => {
  const e = completeEvent({ payload: { t: 1 } }, "plugin.inbound.x", "x");
  assert.match(e.id, /-7/);
  assert.ok(!Number.isNaN(Date.parse(e.timestamp)));
  assert.equal(e.session_id, null);
  assert.equal(e.source, "x");
  assert.equal(e.topic, "plugin.inbound.x");
  const kept = completeEvent({ id: "abc", timestamp: "2026-01-01T00:00:00Z", session_id: "s", source: "me", topic: "ignored", payload: 1 }, "t.x", "x");
  assert.deepEqual([kept.id, kept.timestamp, kept.session_id, kept.source, kept.topic], ["abc", "2026-01-01T00:00:00Z", "s", "me", "t.x"]);
  for (const bad of ["str", [1], { id: 5 }, { timestamp: "yesterday" }, { metadata: [1] }]) {
    assert.throws(
      () => completeEvent(bad, "t.x", "x"),
      (err) => isNexoError(err, ErrorCodes.CONTRACT_INVALID_EVENT),
      JSON.stringify(bad),
    );
  }
});

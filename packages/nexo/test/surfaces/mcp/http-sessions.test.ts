import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes } from "../../../src/errors.js";
import { mountMcpHttp } from "../../../src/surfaces/mcp/index.js";
import { testApp } from "../../helpers/app.js";

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } };
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

test("mcp http - sessions are bounded: past maxSessions a new one is refused with 503; a first request that is not initialize opens none", async (t) => {
  const { app } = testApp(t, { http: true });
  mountMcpHttp(app, { path: "/mcp-small", maxSessions: 1 });
  await app.start();
  const url = `${app.url}/mcp-small`;
  const notInit = await fetch(url, { method: "POST", headers: HEADERS, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
  assert.equal(notInit.status, 400);
  const noSession = await fetch(url, { method: "GET", headers: { accept: "text/event-stream" } });
  assert.equal(noSession.status, 400, "GET needs a session");
  assert.equal(((await noSession.json()) as { error: { code: number } }).error.code, -32000, "the catalogue's MCP_SESSION_REQUIRED row");
  const unknown = await fetch(url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": "no-such-session" } });
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), { jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });
  const first = await fetch(url, { method: "POST", headers: HEADERS, body: JSON.stringify(INIT) });
  assert.equal(first.status, 200);
  const sid = first.headers.get("mcp-session-id");
  assert.ok(sid);
  await first.body?.cancel();
  const second = await fetch(url, { method: "POST", headers: HEADERS, body: JSON.stringify(INIT) });
  assert.equal(second.status, 503);
  assert.equal(((await second.json()) as { error: { code: string } }).error.code, ErrorCodes.MCP_SESSION_LIMIT);
  assert.ok(Number(second.headers.get("retry-after")) >= 1);
  // DELETE ends the session, which frees the slot.
  const del = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": sid! } });
  assert.equal(del.status, 200);
  const third = await fetch(url, { method: "POST", headers: HEADERS, body: JSON.stringify(INIT) });
  assert.equal(third.status, 200);
  await third.body?.cancel();
});

test("mcp http - a session idle past idleTimeoutMs is closed; its id then gets 404 so the client re-initializes", async (t) => {
  const { app } = testApp(t, { http: true });
  mountMcpHttp(app, { path: "/mcp-idle", idleTimeoutMs: 100 });
  await app.start();
  const url = `${app.url}/mcp-idle`;
  const init = await fetch(url, { method: "POST", headers: HEADERS, body: JSON.stringify(INIT) });
  const sid = init.headers.get("mcp-session-id")!;
  await init.body?.cancel();
  // Each look refreshes a live session, so look less often than idle timeout + sweep period.
  let status = 0;
  for (let i = 0; i < 25 && status !== 404; i++) {
    await new Promise((r) => setTimeout(r, 400));
    const r = await fetch(url, { method: "POST", headers: { ...HEADERS, "mcp-session-id": sid }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    status = r.status;
    await r.body?.cancel();
  }
  assert.equal(status, 404);
});

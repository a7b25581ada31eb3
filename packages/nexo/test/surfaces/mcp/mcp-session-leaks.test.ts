import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCodes } from "../../../src/errors.js";
import { AuthPlugin, hashApiKey } from "../../../src/plugins/index.js";
import { mountMcpHttp } from "../../../src/surfaces/mcp/index.js";
import { testApp } from "../../helpers/app.js";
import { waitFor } from "../../helpers/wait.js";
import { pythonMcpOrSkip } from "../../helpers/python-mcp.js";

const PY_CLIENT = fileURLToPath(new URL("../../fixtures/mcp/python-mcp-client.py", import.meta.url));
const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } };
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** POST initialize; the new session's id (the response body is drained). */
async function initialize(url: string, headers: Record<string, string> = {}): Promise<{ status: number; sid: string | null; body: string }> {
  const res = await fetch(url, { method: "POST", headers: { ...HEADERS, ...headers }, body: JSON.stringify(INIT) });
  return { status: res.status, sid: res.headers.get("mcp-session-id"), body: await res.text() };
}

// The caps are made small so that a few dozen sessions cross them: a leaked session would fill the
// global cap (set below the per-client one, so the client's own oldest never gives way) and the
// sessions past it would be refused.
const LEAK_CAP = 16;

test(`mcp http - the official Python client, ${2 * LEAK_CAP + 8} sessions past a cap of ${LEAK_CAP}: each DELETE (content-type json, empty body) closes its session; none left, /mcp still answers`, async (t) => {
  if (!pythonMcpOrSkip(t)) return;
  const { app } = testApp(t, { http: true });
  app.register("double", (i: { n: number }) => ({ n: i.n * 2 }), { inputSchema: { type: "object", properties: { n: { type: "integer" } } } });
  const mcp = mountMcpHttp(app, { path: "/mcp-py", maxSessions: LEAK_CAP, maxSessionsPerClient: 4 * LEAK_CAP });
  await app.start();
  const url = `${app.url}/mcp-py`;
  // Asynchronously: a synchronous child would block the server it talks to.
  const out = await new Promise<string>((resolve, reject) =>
    execFile("python3", [PY_CLIENT, url, String(2 * LEAK_CAP + 8), "8", "double"], { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr.slice(-2000)}`)) : resolve(stdout),
    ),
  );
  const summary = JSON.parse(out) as { sessions: number; tools: string[]; last: string };
  assert.equal(summary.sessions, 2 * LEAK_CAP + 8);
  assert.deepEqual(summary.tools, ["double"]);
  assert.deepEqual(JSON.parse(summary.last), { n: 2 * (2 * LEAK_CAP + 7) });
  await waitFor(() => mcp.openSessions === 0, "every session closed");
  const again = await initialize(url);
  assert.equal(again.status, 200, `past ${LEAK_CAP} client runs /mcp still opens sessions`);
});

test(`mcp http - the official TypeScript client, ${2 * LEAK_CAP + 8} sessions ended by terminateSession past a cap of ${LEAK_CAP}: none left; ${2 * LEAK_CAP} abandoned ones stay within the per-client cap of ${LEAK_CAP / 2}`, async (t) => {
  const { app } = testApp(t, { http: true });
  app.register("double", (i: { n: number }) => ({ n: i.n * 2 }), { inputSchema: { type: "object", properties: { n: { type: "integer" } } } });
  const mcp = mountMcpHttp(app, { path: "/mcp-ts", maxSessions: LEAK_CAP, maxSessionsPerClient: LEAK_CAP / 2 });
  await app.start();
  const url = new URL(`${app.url}/mcp-ts`);
  const run = async (i: number, terminate: boolean): Promise<void> => {
    const transport = new StreamableHTTPClientTransport(url);
    const client = new Client({ name: "leak-check", version: "1.0.0" });
    await client.connect(transport);
    assert.deepEqual(
      (await client.listTools()).tools.map((x) => x.name),
      ["double"],
    );
    const result = (await client.callTool({ name: "double", arguments: { n: i } })) as CallToolResult;
    assert.equal(result.isError ?? false, false);
    if (terminate) await transport.terminateSession();
    await client.close();
  };
  for (let start = 0; start < 2 * LEAK_CAP + 8; start += 4) await Promise.all(Array.from({ length: 4 }, (_, k) => run(start + k, true)));
  await waitFor(() => mcp.openSessions === 0, "every terminated session closed");
  // A client that never ends its sessions only ever holds its own LEAK_CAP / 2.
  for (let start = 0; start < 2 * LEAK_CAP; start += 4) await Promise.all(Array.from({ length: 4 }, (_, k) => run(start + k, false)));
  assert.equal(mcp.openSessions, LEAK_CAP / 2);
  assert.equal((await initialize(url.href)).status, 200);
});

test("mcp http - DELETE with content-type application/json and an empty body closes the session", async (t) => {
  const { app } = testApp(t, { http: true });
  const mcp = mountMcpHttp(app, { path: "/mcp-del" });
  await app.start();
  const url = `${app.url}/mcp-del`;
  const { sid } = await initialize(url);
  assert.equal(mcp.openSessions, 1);
  const del = await fetch(url, { method: "DELETE", headers: { ...HEADERS, "mcp-session-id": sid!, "content-length": "0" } });
  assert.equal(del.status, 200, await del.text());
  assert.equal(mcp.openSessions, 0);
  const gone = await fetch(url, { method: "POST", headers: { ...HEADERS, "mcp-session-id": sid! }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) });
  assert.equal(gone.status, 404);
});

test("mcp http - sessions per client (principal) are capped: a client's new session closes its own oldest; others keep theirs; a session belongs to its opener", async (t) => {
  const { app } = testApp(t, { http: true });
  await app.addPlugin(
    new AuthPlugin({
      strategy: "api_key",
      apiKeys: [
        { id: "alice", hash: hashApiKey("alice-key-0123456789") },
        { id: "bob", hash: hashApiKey("bob-key-0123456789") },
      ],
    }),
  );
  const mcp = mountMcpHttp(app, { path: "/mcp-cap", maxSessions: 6, maxSessionsPerClient: 4 });
  await app.start();
  const url = `${app.url}/mcp-cap`;
  const alice = { "x-api-key": "alice-key-0123456789" };
  const bob = { "x-api-key": "bob-key-0123456789" };
  const aliceSids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await initialize(url, alice);
    assert.equal(r.status, 200, r.body);
    aliceSids.push(r.sid!);
  }
  assert.equal(mcp.openSessions, 4, "alice holds at most 4");
  const listWith = (sid: string, who: Record<string, string>) =>
    fetch(url, { method: "POST", headers: { ...HEADERS, ...who, "mcp-session-id": sid }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) }).then(
      async (r) => {
        await r.body?.cancel();
        return r.status;
      },
    );
  assert.equal(await listWith(aliceSids[0], alice), 404, "her oldest was closed");
  assert.equal(await listWith(aliceSids[11], alice), 200);
  const bob1 = await initialize(url, bob);
  const bob2 = await initialize(url, bob);
  assert.equal(bob1.status, 200);
  assert.equal(bob2.status, 200);
  assert.equal(await listWith(aliceSids[11], bob), 404, "bob cannot use alice's session");
  const bobDelete = await fetch(url, { method: "DELETE", headers: { ...bob, "mcp-session-id": aliceSids[11] } });
  assert.equal(bobDelete.status, 404, "nor close it");
  assert.equal(await listWith(aliceSids[11], alice), 200);
  // All 6 taken: alice (at her cap) still gets a new one in place of her own oldest; bob, under his, is refused.
  assert.equal((await initialize(url, alice)).status, 200);
  const refused = await initialize(url, bob);
  assert.equal(refused.status, 503);
  assert.equal(JSON.parse(refused.body).error.code, ErrorCodes.MCP_SESSION_LIMIT);
  assert.equal(mcp.openSessions, 6);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Nexo } from "../../src/app/index.js";
import type { ToolResult } from "../../src/app/tools/index.js";
import { NatsBroker } from "../../src/broker/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { attachCluster, TOOL_SUBJECTS } from "../../src/cluster/index.js";
import { clusterConfigFromYaml } from "../../src/config/index.js";
import { ErrorCodes, isNexoError, type NexoError } from "../../src/errors.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";

const CATALOGUE = [
  { name: "echo", description: "echoes its arguments", input_schema: { type: "object", required: ["i"], properties: { i: { type: "integer" } } } },
  { name: "hang", description: "never answers", input_schema: { type: "object" } },
  { name: "busy", description: "asks to retry", input_schema: { type: "object" } },
  { name: "fail", description: "fails", input_schema: { type: "object" } },
];
const text = (r: ToolResult): string => String(r.content[0]?.text);

/**
 * Daemon C runs plugin `calc`; daemon A runs none. Both are full apps with
 * HTTP and MCP, on one nats-server, announcing every 200 ms.
 */
test("cluster - a tool on daemon C is listed and called from daemon A (app.callTool, HTTP, MCP) with its deadline, validation and typed errors, each call published once as a tool event; a dead daemon's tool fails at once with the retry error", async (t) => {
  const server = await startNatsServer(t);
  if (!server) return;
  const root = tempDir(t);
  const cluster = (node: string) => clusterConfigFromYaml({ node_id: node, tools: { announce_interval_ms: 200, ttl_ms: 30_000 } });
  const make = async (node: string) => {
    const broker = await NatsBroker.connect(server.url, { drainTimeoutMs: 200 });
    const app = new Nexo({ broker, logger: captureLogger().logger, http: true, apiPort: 0, stateDir: tempDir(t), pluginTimeouts: { initMs: 5000, killGraceMs: 300 } });
    attachCluster(app, cluster(node));
    return { app, broker };
  };
  const a = await make("a");
  const c = await make("c");
  t.after(async () => {
    await Promise.all([a.app.stop(), c.app.stop()]);
    await Promise.all([a.broker.close(), c.broker.close()]);
    await server.stop();
  });
  c.app.host.add({ manifest: fixturePlugin(root, { id: "calc", mode: "echo", tools: CATALOGUE.map((x) => x.name), catalogue: CATALOGUE }) });
  await c.app.start();
  await a.app.start();
  // A cluster consumer of the tool-call events (observer: every event, no queue group).
  const observer = await NatsBroker.connect(server.url, { drainTimeoutMs: 200 });
  t.after(() => observer.close());
  const toolEvents: Event[] = [];
  observer.subscribe("tool.>", (e) => void toolEvents.push(e));
  await observer.flush();

  // Listed on A, marked as C's.
  const listed = (await waitFor(() => a.app.getTool("calc_echo"), "calc_echo announced to A"))!;
  assert.equal(listed.node, "c");
  assert.equal(listed.plugin, "calc");
  assert.deepEqual(listed.inputSchema, CATALOGUE[0].input_schema);
  assert.equal(c.app.getTool("calc_echo")?.node, undefined, "C lists its own tool as local");

  // app.callTool on A runs on C.
  const r = await a.app.callTool("calc_echo", { i: 7 }, { agentId: "ag-1" });
  assert.deepEqual(JSON.parse(text(r)).args, { i: 7 });
  assert.equal(JSON.parse(text(r)).agent_id, "ag-1");
  // Arguments are checked on A before anything is sent.
  await assert.rejects(a.app.callTool("calc_echo", { i: "x" }), (e) => isNexoError(e, ErrorCodes.TOOL_INVALID_ARGS));
  // The plugin's own errors keep their code and data across the hop.
  await assert.rejects(
    a.app.callTool("calc_busy", {}),
    (e) => isNexoError(e, ErrorCodes.TOOL_UNAVAILABLE) && ((e as NexoError).details.data as { retryAfterMs: number }).retryAfterMs === 250,
  );
  await assert.rejects(a.app.callTool("calc_fail", {}), (e) => isNexoError(e, ErrorCodes.TOOL_EXECUTION_FAILED) && (e as NexoError).httpStatus === 502);
  // Each call is one fact, published once in the cluster (by A, naming C), not once per daemon it crossed.
  // C would publish before replying and A after the reply, so both are in before A's sentinel arrives.
  await a.broker.publish("tool.sentinel.completed", newEvent("tool.sentinel.completed", "test", {}));
  await waitFor(() => toolEvents.some((e) => e.topic === "tool.sentinel.completed"), "the sentinel after the calls");
  const facts = (topic: string) => toolEvents.filter((e) => e.topic === topic).map((e) => e.payload as { node?: string; plugin?: string });
  assert.deepEqual(
    facts("tool.calc_echo.completed").map((p) => [p.node, p.plugin]),
    [["c", "calc"]],
  );
  assert.deepEqual(
    facts("tool.calc_fail.failed").map((p) => p.node),
    ["c"],
  );
  assert.equal(facts("tool.calc_busy.failed").length, 1);
  // The caller's deadline holds on the serving daemon.
  await assert.rejects(a.app.callTool("calc_hang", {}, { timeoutMs: 300 }), (e) => isNexoError(e, ErrorCodes.TOOL_TIMEOUT));

  // Over A's HTTP API.
  const list = (await (await fetch(`${a.app.url}/tools`)).json()) as { tools: Array<{ name: string; node?: string }> };
  assert.ok(list.tools.some((x) => x.name === "calc_echo" && x.node === "c"));
  const http = await fetch(`${a.app.url}/tools/calc_echo`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ i: 3 }) });
  assert.equal(http.status, 200);
  assert.deepEqual(JSON.parse(text((await http.json()) as ToolResult)).args, { i: 3 });
  const bad = await fetch(`${a.app.url}/tools/calc_echo`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({}) });
  assert.equal(bad.status, 400);

  // Over A's MCP endpoint.
  const mcp = new Client({ name: "cluster-test", version: "1" });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${a.app.url}/mcp`)));
  t.after(() => mcp.close());
  const mcpTools = await mcp.listTools();
  assert.ok(mcpTools.tools.some((x) => x.name === "calc_echo"));
  const viaMcp = (await mcp.callTool({ name: "calc_echo", arguments: { i: 11 } })) as CallToolResult;
  assert.equal(viaMcp.isError, false);
  assert.deepEqual(JSON.parse(String((viaMcp.content[0] as { text: string }).text)).args, { i: 11 });

  // C dies without saying goodbye (its NATS connection drops): the next call fails at once with the retry error,
  // long before its 30 s deadline, and the tool leaves A's list.
  await c.broker.connection.close();
  // The server drops C's interest on its own clock: wait until it answers "no responders" for C's subject.
  await waitFor(
    () =>
      a.broker.connection.request(TOOL_SUBJECTS.call("c"), new Uint8Array(), { timeout: 1000 }).then(
        () => false,
        (e: { code?: string }) => e.code === "503",
      ),
    "the server forgot daemon C",
  );
  const err = await a.app.callTool("calc_echo", { i: 1 }, { timeoutMs: 30_000 }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(isNexoError(err, ErrorCodes.TOOL_UNAVAILABLE), String(err));
  assert.equal(((err as NexoError).details.data as { retryAfterMs: number }).retryAfterMs, 200);
  assert.equal(a.app.getTool("calc_echo"), undefined);
});

test("cluster - a daemon that stops says goodbye: its tools leave the others' lists without waiting for expiry", async (t) => {
  const server = await startNatsServer(t);
  if (!server) return;
  const root = tempDir(t);
  const brokers = await Promise.all([NatsBroker.connect(server.url, { drainTimeoutMs: 200 }), NatsBroker.connect(server.url, { drainTimeoutMs: 200 })]);
  // A long announce interval: only the goodbye can remove the tool within the test.
  const apps = brokers.map((broker, i) => {
    const app = new Nexo({ broker, logger: captureLogger().logger, http: false, stateDir: tempDir(t), pluginTimeouts: { initMs: 5000, killGraceMs: 300 } });
    attachCluster(app, clusterConfigFromYaml({ node_id: `n${i}`, tools: { announce_interval_ms: 60_000 } }));
    return app;
  });
  t.after(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await Promise.all(brokers.map((b) => b.close()));
    await server.stop();
  });
  apps[1].host.add({ manifest: fixturePlugin(root, { id: "calc", mode: "echo", tools: ["echo"], catalogue: [CATALOGUE[0]] }) });
  await apps[0].start();
  // n1 says hello on start; n0 answers, and n1's own tools reach n0 when its plugin becomes ready.
  await apps[1].start();
  await waitFor(() => apps[0].getTool("calc_echo"), "announced");
  let changed = 0;
  apps[0].onToolsChanged(() => changed++);
  await apps[1].stop();
  await waitFor(() => apps[0].getTool("calc_echo") === undefined, "gone after goodbye");
  await waitFor(() => changed > 0, "tools-changed fired (MCP list_changed)");
});

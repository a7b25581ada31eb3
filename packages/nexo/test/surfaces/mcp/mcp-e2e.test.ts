import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, ToolListChangedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../../../src/config/index.js";
import { Daemon } from "../../../src/daemon/index.js";
import { ErrorCodes, NexoError } from "../../../src/errors.js";
import { fixturePlugin, tempDir } from "../../helpers/fixture-plugins.js";
import { captureLogger } from "../../helpers/log-capture.js";
import { waitFor } from "../../helpers/wait.js";

const NEXO = fileURLToPath(new URL("../../../bin/nexo.js", import.meta.url));
const GREET_SCHEMA = { type: "object", required: ["name"], additionalProperties: false, properties: { name: { type: "string" } } };

/** A daemon config with one fixture plugin (tool.invoke and topic tools) and a workflow module that also prints to stdout. */
function writeConfig(t: TestContext, api: Record<string, unknown>): string {
  const dir = tempDir(t);
  fixturePlugin(join(dir, "plugins"), {
    id: "calc",
    mode: "echo",
    tools: ["echo", "crash"],
    catalogue: [
      { name: "echo", description: "echoes its arguments", input_schema: { type: "object", properties: { i: { type: "integer" } } } },
      { name: "crash", description: "exits the plugin", input_schema: { type: "object" } },
    ],
    expose: [{ name: "calc.twice", schema: { type: "object", properties: { x: { type: "number" } } }, description: "topic-form tool" }],
    supervisor: { backoff_ms: 100 },
  });
  writeFileSync(
    join(dir, "workflows.mjs"),
    [
      // Printed while the MCP server owns stdout: must end up on stderr, never between frames.
      `console.log("noise from a workflow module");`,
      "export default function (app) {",
      `  app.register("greet", ({ name }) => ({ text: "hi " + name }), { description: "Greets", inputSchema: ${JSON.stringify(GREET_SCHEMA)} });`,
      `  app.register("whoami", (_inputs, ctx) => ({ principal: ctx.principal ? ctx.principal.id : null, channel: ctx.channel }));`,
      "}",
      "",
    ].join("\n"),
  );
  const file = join(dir, "nexo.yaml");
  writeFileSync(file, JSON.stringify({ state_dir: join(dir, "state"), log_level: "info", plugin_paths: [join(dir, "plugins")], workflows: [join(dir, "workflows.mjs")], api }));
  return file;
}

/** The scenario both transports must pass, driven by the official MCP client. */
async function exercise(client: Client, changes: () => number): Promise<void> {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((x) => x.name).sort(), ["calc_calc_twice", "calc_crash", "calc_echo", "greet", "whoami"]);
  assert.deepEqual(tools.find((x) => x.name === "greet")?.inputSchema, GREET_SCHEMA);
  assert.equal(tools.find((x) => x.name === "calc_echo")?.description, "echoes its arguments");

  const echo = (await client.callTool({ name: "calc_echo", arguments: { i: 1 } })) as CallToolResult;
  assert.equal(echo.isError, false);
  assert.deepEqual(echo.content, [{ type: "text", text: JSON.stringify({ args: { i: 1 }, agent_id: null, plugin_id: "calc" }) }]);
  const twice = (await client.callTool({ name: "calc_calc_twice", arguments: { x: 2 } })) as CallToolResult;
  assert.deepEqual((twice.structuredContent as { echo: unknown }).echo, { x: 2 });
  const greet = (await client.callTool({ name: "greet", arguments: { name: "Ada" } })) as CallToolResult;
  assert.deepEqual(greet.structuredContent, { text: "hi Ada" });

  // Invalid arguments are a tool execution error the model can read (SEP-1303), listing every violation.
  const bad = (await client.callTool({ name: "greet", arguments: { name: 5, extra: true } })) as CallToolResult;
  assert.equal(bad.isError, true);
  const error = (bad.structuredContent as { error: { code: string; violations: Array<{ path: string }> } }).error;
  assert.equal(error.code, ErrorCodes.TOOL_INVALID_ARGS);
  assert.deepEqual(error.violations.map((v) => v.path).sort(), ["/extra", "/name"]);
  const badPlugin = (await client.callTool({ name: "calc_echo", arguments: { i: "one" } })) as CallToolResult;
  assert.equal((badPlugin.structuredContent as { error: { code: string } }).error.code, ErrorCodes.TOOL_INVALID_ARGS);
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), (err) => err instanceof McpError && err.code === -32602);

  // The plugin exits during a call: the caller hears at once, and the list changes twice (gone, back).
  const before = changes();
  const crash = (await client.callTool({ name: "calc_crash", arguments: {} })) as CallToolResult;
  assert.equal(crash.isError, true);
  assert.equal((crash.structuredContent as { error: { code: string } }).error.code, ErrorCodes.TOOL_PLUGIN_EXITED);
  await waitFor(() => changes() >= before + 2, "list_changed when the plugin went away and when it came back", 15_000);
  await waitFor(async () => (await client.listTools()).tools.some((x) => x.name === "calc_echo"), "calc tools listed again", 15_000);
  const again = (await client.callTool({ name: "calc_echo", arguments: { i: 2 } })) as CallToolResult;
  assert.equal(again.isError, false);
}

function trackChanges(client: Client): () => number {
  let n = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    n++;
  });
  return () => n;
}

test("mcp e2e - nexo mcp over stdio: the official client lists and calls plugin tools and workflows, gets schema errors and list_changed; stdout carries only frames", async (t) => {
  const config = writeConfig(t, { enabled: false });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [NEXO, "mcp", "--config", config],
    env: { ...process.env, NEXO_LOG_LEVEL: "info" } as Record<string, string>,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "nexo-test", version: "1.0.0" });
  const transportErrors: Error[] = [];
  client.onerror = (err) => void transportErrors.push(err);
  const changes = trackChanges(client);
  t.after(() => client.close().catch(() => undefined));
  await client.connect(transport);
  assert.equal(client.getServerVersion()?.name, "nexo");
  assert.equal(client.getServerCapabilities()?.tools?.listChanged, true);
  try {
    await exercise(client, changes);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- nexo mcp stderr ---\n${stderr}`, { cause: err });
  }
  assert.deepEqual(transportErrors, [], "no unparseable line reached the client");
  assert.match(stderr, /\[stdout-guard\] noise from a workflow module/);
  const pid = transport.pid!;
  await client.close();
  await waitFor(
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    "nexo mcp exits when the client disconnects",
    15_000,
  );
  assert.match(stderr, /MCP client disconnected/);
});

test("mcp e2e - Streamable HTTP on the daemon's /mcp: same scenario, through the HTTP API's auth hook, principal reaches workflows", async (t) => {
  const config = loadConfig(writeConfig(t, { port: 0, mcp_allowed_origins: ["https://console.example"] }));
  const daemon = await Daemon.start(config, {
    logger: captureLogger().logger,
    configure: (app) => {
      app.http.addHook("onRequest", async (request) => {
        if (request.headers.authorization !== "Bearer t0ken") throw new NexoError(ErrorCodes.AUTH_UNAUTHENTICATED, "send Authorization: Bearer <token>");
        request.principal = { id: "alice", strategy: "test" };
      });
    },
  });
  t.after(() => daemon.stop());
  const url = new URL(`${daemon.app.url}/mcp`);

  const anonymous = new Client({ name: "anon", version: "1.0.0" });
  await assert.rejects(anonymous.connect(new StreamableHTTPClientTransport(url)), /401|Unauthorized|NEXO_ERR_AUTH/);

  const client = new Client({ name: "nexo-test", version: "1.0.0" });
  const changes = trackChanges(client);
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: "Bearer t0ken" } } });
  t.after(() => client.close().catch(() => undefined));
  await client.connect(transport);
  assert.ok(transport.sessionId, "a stateful session");
  await exercise(client, changes);
  const who = (await client.callTool({ name: "whoami", arguments: {} })) as CallToolResult;
  assert.deepEqual(who.structuredContent, { principal: "alice", channel: "mcp" });

  // A workflow registered at run time is announced too.
  const before = changes();
  daemon.app.register("late", () => "here");
  await waitFor(() => changes() > before, "list_changed after a workflow was registered");
  assert.ok((await client.listTools()).tools.some((x) => x.name === "late"));

  // Unknown session ids get 404 so the client re-initializes; foreign origins are refused.
  const stale = await fetch(url, {
    method: "POST",
    headers: { authorization: "Bearer t0ken", "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": "nope" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  assert.equal(stale.status, 404);
  const foreign = await fetch(url, {
    method: "POST",
    headers: { authorization: "Bearer t0ken", "content-type": "application/json", accept: "application/json, text/event-stream", origin: "http://evil.example" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
  });
  assert.equal(foreign.status, 403);
  assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, ErrorCodes.MCP_ORIGIN_DENIED);
  // An origin listed in api.mcp_allowed_origins gets through to the MCP transport.
  const listed = await fetch(url, {
    method: "POST",
    headers: { authorization: "Bearer t0ken", "content-type": "application/json", accept: "application/json, text/event-stream", origin: "https://console.example" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
  });
  assert.equal(listed.status, 200, await listed.clone().text());
  await listed.body?.cancel();

  // Stopping the daemon closes the client's open GET stream instead of hanging on it.
  await daemon.stop();
  assert.equal(daemon.app.state, "stopped");
});

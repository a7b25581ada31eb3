import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ErrorCodes } from "../../../src/errors.js";
import type { NexoOptions } from "../../../src/app/index.js";
import { testApp } from "../../helpers/app.js";
import { fixturePlugin, tempDir } from "../../helpers/fixture-plugins.js";
import { waitFor } from "../../helpers/wait.js";

const ANY = { type: "object" };
const CATALOGUE = [
  { name: "echo", description: "echoes", input_schema: { type: "object", additionalProperties: false, properties: { i: { type: "integer" }, s: { type: "string" } } } },
  ...["hang", "fail", "deny", "busy"].map((name) => ({ name, description: "", input_schema: ANY })),
];

async function started(t: TestContext, options: NexoOptions = {}, backoffMs = 50) {
  const { app } = testApp(t, { pluginTimeouts: { killGraceMs: 300 }, ...options });
  const sup = app.host.add({
    manifest: fixturePlugin(tempDir(t), { id: "calc", mode: "echo", tools: CATALOGUE.map((c) => c.name), catalogue: CATALOGUE, supervisor: { backoff_ms: backoffMs } }),
  });
  app.register("greet", ({ name }) => ({ text: `hi ${name}` }), {
    description: "Greets",
    inputSchema: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
  });
  await app.start();
  return { app, sup };
}

test("http tools - GET /tools lists every callable tool with its schema; GET /tools/:name one; unknown is 404", async (t) => {
  const { app } = await started(t);
  const list = await app.http.inject({ method: "GET", url: "/tools" });
  assert.equal(list.statusCode, 200);
  const tools = list.json().tools as Array<{ name: string; description: string; inputSchema: unknown; source: string }>;
  assert.deepEqual(
    tools.map((x) => x.name),
    ["greet", "calc_echo", "calc_hang", "calc_fail", "calc_deny", "calc_busy"],
  );
  assert.deepEqual(tools[0], {
    name: "greet",
    description: "Greets",
    inputSchema: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
    source: "workflow",
  });
  const one = await app.http.inject({ method: "GET", url: "/tools/calc_echo" });
  assert.equal(one.json().wire, "tool.invoke");
  const missing = await app.http.inject({ method: "GET", url: "/tools/nope" });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, ErrorCodes.TOOL_NOT_FOUND);
});

test("http tools - POST /tools/:name: body = arguments, 200 = the result; session and agent headers reach the plugin", async (t) => {
  const { app } = await started(t);
  const r = await app.http.inject({ method: "POST", url: "/tools/calc_echo", payload: { i: 3 }, headers: { "x-agent-id": "agent-7", "x-session-id": "conv-1" } });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { content: [{ type: "text", text: JSON.stringify({ args: { i: 3 }, agent_id: "agent-7", plugin_id: "calc" }) }], is_error: false });
  const noBody = await app.http.inject({ method: "POST", url: "/tools/calc_echo" });
  assert.equal(noBody.statusCode, 200, "no body means no arguments");
  const wf = await app.http.inject({ method: "POST", url: "/tools/greet", payload: { name: "Ada" } });
  assert.deepEqual(wf.json().structured_content, { text: "hi Ada" });
});

test("http tools - errors: 400 lists every violation, 404, 403, 502 with the tool's message, 503 with Retry-After, 504", async (t) => {
  // The deadline only has to end calc_hang: at 200 ms, a busy machine turned the
  // plugin's immediate "busy" answer into a 504 too.
  const { app } = await started(t, { pluginTimeouts: { toolMs: 1500, killGraceMs: 300 } });
  const bad = await app.http.inject({ method: "POST", url: "/tools/calc_echo", payload: { i: "x", s: 1, extra: true } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, ErrorCodes.TOOL_INVALID_ARGS);
  assert.deepEqual(
    bad
      .json()
      .error.violations.map((v: { path: string }) => v.path)
      .sort(),
    ["/extra", "/i", "/s"],
  );
  const notArgs = await app.http.inject({ method: "POST", url: "/tools/calc_echo", payload: [1, 2] });
  assert.equal(notArgs.statusCode, 400);
  assert.equal((await app.http.inject({ method: "POST", url: "/tools/nope", payload: {} })).statusCode, 404);
  const denied = await app.http.inject({ method: "POST", url: "/tools/calc_deny", payload: {} });
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.json().error.code, ErrorCodes.TOOL_DENIED);
  const failed = await app.http.inject({ method: "POST", url: "/tools/calc_fail", payload: {} });
  assert.equal(failed.statusCode, 502);
  assert.equal(failed.json().error.code, ErrorCodes.TOOL_EXECUTION_FAILED);
  assert.match(failed.json().error.message, /boom/);
  const busy = await app.http.inject({ method: "POST", url: "/tools/calc_busy", payload: {} });
  assert.equal(busy.statusCode, 503);
  assert.equal(busy.headers["retry-after"], "1");
  assert.equal(busy.json().error.retryAfterMs, 250);
  const slow = await app.http.inject({ method: "POST", url: "/tools/calc_hang", payload: {} });
  assert.equal(slow.statusCode, 504);
  assert.equal(slow.json().error.code, ErrorCodes.TOOL_TIMEOUT);
});

test("http tools - a tool whose plugin is restarting answers 503 with Retry-After from the supervisor's backoff", async (t) => {
  const { app, sup } = await started(t, {}, 3000);
  process.kill(sup.status().pid!, "SIGKILL");
  await waitFor(() => sup.currentState === "restarting", "restarting");
  const r = await app.http.inject({ method: "POST", url: "/tools/calc_echo", payload: {} });
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().error.code, ErrorCodes.TOOL_UNAVAILABLE);
  const seconds = Number(r.headers["retry-after"]);
  assert.ok(seconds >= 1 && seconds <= 4, `Retry-After ${seconds}`);
});

test("http tools - /openapi.json documents GET /tools and GET|POST /tools/{name}", async (t) => {
  const { app } = await started(t);
  const doc = (await app.http.inject({ method: "GET", url: "/openapi.json" })).json();
  assert.equal(doc.paths["/tools"].get.operationId, "listTools");
  assert.equal(doc.paths["/tools/{name}"].post.operationId, "callTool");
  assert.ok(doc.paths["/tools/{name}"].post.responses["503"]);
  assert.ok(doc.paths["/workflows/greet/execute"], "workflow paths are still there");
});

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { Event } from "../../../src/contract/index.js";
import { ErrorCodes, isNexoError, NexoError } from "../../../src/errors.js";
import type { PluginSupervisor } from "../../../src/host/index.js";
import type { NexoOptions } from "../../../src/app/index.js";
import type { ToolCalledEvent, ToolResult } from "../../../src/app/tools/index.js";
import { testApp } from "../../helpers/app.js";
import { fixturePlugin, tempDir, type FixtureOptions } from "../../helpers/fixture-plugins.js";
import { sleep, waitFor } from "../../helpers/wait.js";

/** The catalogue every tool.invoke test uses; the fixture's behaviour is chosen by tool name. */
const ANY = { type: "object" };
const CATALOGUE = [
  { name: "echo", description: "echoes its arguments", input_schema: { type: "object", properties: { i: { type: "integer" } } } },
  {
    name: "crash",
    description: "exits the plugin",
    input_schema: { type: "object", required: ["x", "mode"], additionalProperties: false, properties: { x: { type: "integer", minimum: 0 }, mode: { enum: ["now", "later"] } } },
  },
  { name: "hang", description: "never answers", input_schema: ANY },
  { name: "fail", description: "", input_schema: ANY },
  { name: "deny", description: "", input_schema: ANY },
  { name: "busy", description: "", input_schema: ANY },
  { name: "picky", description: "", input_schema: ANY },
  { name: "no_handler", description: "", input_schema: ANY },
  { name: "soft_fail", description: "", input_schema: ANY },
  { name: "raw", description: "", input_schema: ANY },
  { name: "gone", description: "the plugin does not know it", input_schema: ANY },
];
const TOOL_NAMES = CATALOGUE.map((c) => c.name);

function setup(t: TestContext, options: NexoOptions = {}) {
  const ctx = testApp(t, { pluginTimeouts: { initMs: 5000, shutdownReplyMs: 1000, killGraceMs: 300 }, ...options });
  const root = tempDir(t);
  const add = (opts: FixtureOptions): PluginSupervisor => ctx.app.host.add({ manifest: fixturePlugin(root, opts) });
  const calc = (opts: Partial<FixtureOptions> = {}): PluginSupervisor => add({ id: "calc", mode: "echo", tools: TOOL_NAMES, catalogue: CATALOGUE, ...opts });
  return { ...ctx, add, calc };
}

const text = (r: ToolResult): string => String(r.content[0]?.text);
const code = (c: string) => (err: unknown) => isNexoError(err) && err.code === c;

test("tools - plugin tools are listed as <plugin_key>_<name> (dots become _), workflows by name, each with its wire", async (t) => {
  const { app, add } = setup(t);
  app.register("greet", () => "hi", { inputSchema: { type: "object", properties: { name: { type: "string" } } }, description: "Greets" });
  add({
    id: "billing",
    mode: "echo",
    tools: ["echo"],
    catalogue: [{ name: "echo", description: "echoes", input_schema: { type: "object" } }],
    expose: [
      { name: "stripe.create_invoice", schema: { type: "object", properties: { customer: { type: "string" } } }, description: "Creates an invoice" },
      { name: "echo", schema: { type: "object", properties: { i: { type: "integer" } } }, description: "from the manifest" },
    ],
  });
  await app.start();
  const tools = app.listTools();
  assert.deepEqual(
    tools.map((x) => [x.name, x.source, x.plugin ?? null, x.pluginTool ?? null, x.wire ?? null]),
    [
      ["greet", "workflow", null, null, null],
      ["billing_echo", "plugin", "billing", "echo", "tool.invoke"],
      ["billing_stripe_create_invoice", "plugin", "billing", "stripe.create_invoice", "topic"],
    ],
  );
  // The manifest's schema file wins over the catalogue's schema for the same tool.
  assert.deepEqual(app.getTool("billing_echo")?.inputSchema, { type: "object", properties: { i: { type: "integer" } } });
  assert.equal(app.getTool("billing_echo")?.description, "from the manifest");
  assert.equal(app.getTool("billing_stripe_create_invoice")?.description, "Creates an invoice");
  assert.deepEqual(app.getTool("greet")?.inputSchema, { type: "object", properties: { name: { type: "string" } } });
  assert.equal(app.getTool("nope"), undefined);
});

test("tools - arguments are checked before anything is sent, and every violation is reported", async (t) => {
  const { app, calc } = setup(t);
  const sup = calc();
  await app.start();
  const pid = sup.status().pid;
  await assert.rejects(app.callTool("calc_crash", { x: -1, mode: "sometime", extra: true }), (err) => {
    assert.ok(isNexoError(err, ErrorCodes.TOOL_INVALID_ARGS));
    assert.equal(err.details.rpcCode, -33402);
    const v = (err.details.data as { violations: Array<{ path: string; message: string }> }).violations;
    assert.deepEqual(v.map((x) => x.path).sort(), ["/extra", "/mode", "/x"]);
    return true;
  });
  await assert.rejects(app.callTool("calc_crash", {}), (err) => {
    const v = ((err as NexoError).details.data as { violations: Array<{ path: string }> }).violations;
    assert.deepEqual(v.map((x) => x.path).sort(), ["/mode", "/x"]);
    return true;
  });
  for (const bad of [null, [1], "str", 3]) {
    await assert.rejects(app.callTool("calc_echo", bad), code(ErrorCodes.TOOL_INVALID_ARGS), JSON.stringify(bad));
  }
  // The crash tool was never sent: the plugin still runs with the same pid.
  assert.equal(sup.status().pid, pid);
  assert.equal(sup.currentState, "ready");
  assert.equal(text(await app.callTool("calc_echo", { i: 7 }, { agentId: "agent-1" })), JSON.stringify({ args: { i: 7 }, agent_id: "agent-1", plugin_id: "calc" }));
});

test("tools - a plugin's error replies come back with the contract's codes; is_error results and plain values pass through", async (t) => {
  const { app, calc } = setup(t);
  calc();
  await app.start();
  const data = (err: unknown) => (err as NexoError).details.data as Record<string, any>;
  await assert.rejects(
    app.callTool("calc_fail", {}),
    (err) => code(ErrorCodes.TOOL_EXECUTION_FAILED)(err) && (err as NexoError).details.rpcCode === -33403 && /boom/.test((err as Error).message),
  );
  await assert.rejects(app.callTool("calc_deny", {}), (err) => code(ErrorCodes.TOOL_DENIED)(err) && (err as NexoError).details.rpcCode === -33405);
  await assert.rejects(app.callTool("calc_busy", {}), (err) => code(ErrorCodes.TOOL_UNAVAILABLE)(err) && data(err).retryAfterMs === 250);
  await assert.rejects(app.callTool("calc_picky", {}), (err) => code(ErrorCodes.TOOL_INVALID_ARGS)(err) && data(err).violations[0].path === "/x");
  await assert.rejects(app.callTool("calc_no_handler", {}), code(ErrorCodes.TOOL_EXECUTION_FAILED));
  await assert.rejects(app.callTool("calc_gone", {}), (err) => code(ErrorCodes.TOOL_NOT_FOUND)(err) && (err as NexoError).details.rpcCode === -33401);
  await assert.rejects(app.callTool("no_such_tool", {}), code(ErrorCodes.TOOL_NOT_FOUND));
  const soft = await app.callTool("calc_soft_fail", {});
  assert.deepEqual(soft, { content: [{ type: "text", text: "the tool says no" }], is_error: true });
  assert.deepEqual(await app.callTool("calc_raw", { value: { total: 3 } }), {
    content: [{ type: "text", text: '{"total":3}' }],
    is_error: false,
    structured_content: { total: 3 },
  });
  assert.deepEqual(await app.callTool("calc_raw", { value: "plain" }), { content: [{ type: "text", text: "plain" }], is_error: false });
});

test("tools - a call that gets no answer times out with NEXO_ERR_TOOL_TIMEOUT, on both wires", async (t) => {
  const { app, calc } = setup(t, { pluginTimeouts: { toolMs: 300 } });
  calc({ expose: [{ name: "calc.hang", schema: ANY }] });
  await app.start();
  await assert.rejects(app.callTool("calc_hang", {}, { timeoutMs: 150 }), code(ErrorCodes.TOOL_TIMEOUT));
  await assert.rejects(app.callTool("calc_calc_hang", {}), code(ErrorCodes.TOOL_TIMEOUT), "the host's tool timeout is the default");
  await assert.rejects(app.callTool("calc_echo", {}, { timeoutMs: 0 }), code(ErrorCodes.CONFIG_INVALID));
  assert.equal(app.host.require("calc").currentState, "ready");
});

test("tools - the plugin dying mid-call fails pending calls at once; calls during the restart fail at once with a retry hint; then the tools are back", async (t) => {
  const { app, calc } = setup(t);
  const sup = calc({ expose: [{ name: "calc.hang", schema: ANY }], supervisor: { backoff_ms: 1500 } });
  let changes = 0;
  app.onToolsChanged(() => changes++);
  await app.start();
  await waitFor(() => changes >= 1, "initial tools-changed");
  const before = changes;
  // Ten minutes: if the error waited for the deadline, the test would hit its own timeout instead.
  const pending = [app.callTool("calc_hang", {}, { timeoutMs: 600_000 }), app.callTool("calc_calc_hang", {}, { timeoutMs: 600_000 })];
  await sleep(50);
  process.kill(sup.status().pid!, "SIGKILL");
  for (const p of pending) {
    await assert.rejects(p, (err) => {
      assert.ok(isNexoError(err, ErrorCodes.TOOL_PLUGIN_EXITED), String(err));
      assert.equal(err.details.rpcCode, -33404);
      assert.equal(typeof (err.details.data as { retryAfterMs: unknown }).retryAfterMs, "number");
      return true;
    });
  }
  await waitFor(() => sup.currentState === "restarting", "restarting");
  await waitFor(() => changes > before, "tools-changed when the plugin went away");
  assert.deepEqual(
    app.listTools().filter((x) => x.plugin === "calc"),
    [],
  );
  await assert.rejects(app.callTool("calc_echo", { i: 1 }, { timeoutMs: 600_000 }), (err) => {
    assert.ok(isNexoError(err, ErrorCodes.TOOL_UNAVAILABLE), String(err));
    const ms = (err.details.data as { retryAfterMs: number }).retryAfterMs;
    assert.ok(ms > 0 && ms <= 1500 * 1.2, `retry hint ${ms} within the jittered backoff`);
    return true;
  });
  const gone = changes;
  await waitFor(() => sup.currentState === "ready", "respawned", 15_000);
  await waitFor(() => changes > gone, "tools-changed when the plugin came back");
  assert.ok(app.listTools().some((x) => x.name === "calc_echo"));
  assert.equal(text(await app.callTool("calc_echo", { i: 2 })), JSON.stringify({ args: { i: 2 }, agent_id: null, plugin_id: "calc" }));
});

test("tools - a plugin that is stopped for good makes its tools unavailable without a retry hint", async (t) => {
  const { app, calc } = setup(t);
  const sup = calc({ supervisor: { respawn: false } });
  await app.start();
  await sup.stop();
  await assert.rejects(
    app.callTool("calc_echo", {}),
    (err) => isNexoError(err, ErrorCodes.TOOL_UNAVAILABLE) && (err.details.data as { retryAfterMs?: number }).retryAfterMs === undefined,
  );
});

test("tools - 1,000 concurrent tool.invoke calls answered in shuffled order are each correlated to their caller", async (t) => {
  const { app, calc } = setup(t);
  calc({ mode: "shuffle" });
  await app.start();
  const n = 1000;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => app.callTool("calc_echo", { i }, { agentId: `a${i}` })));
  results.forEach((r, i) => assert.equal(text(r), JSON.stringify({ args: { i }, agent_id: `a${i}`, plugin_id: "calc" })));
});

test("tools - 1,000 concurrent topic-form calls answered in shuffled order are each correlated by the call event's id", async (t) => {
  const { app, add } = setup(t);
  add({ id: "calc", mode: "shuffle", expose: [{ name: "calc.twice", schema: { type: "object", required: ["i"], properties: { i: { type: "integer" } } } }] });
  await app.start();
  const n = 1000;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => app.callTool("calc_calc_twice", { i })));
  results.forEach((r, i) => assert.deepEqual(r.structured_content, { echo: { i } }));
});

test("tools - topic form: the call event reaches only the owning plugin with session and agent, errors map to codes", async (t) => {
  const { app, add } = setup(t);
  add({
    id: "calc",
    mode: "echo",
    expose: [
      { name: "calc.twice", schema: ANY },
      { name: "calc.fail", schema: ANY },
    ],
  });
  add({ id: "other", mode: "echo" });
  await app.start();
  const seen: Event[] = [];
  app.broker.subscribe("plugin.tool.>", (e) => void seen.push(e));
  const r = await app.callTool("calc_calc_twice", { x: 1 }, { sessionId: "s-1", agentId: "ag" });
  assert.deepEqual(r.structured_content, { echo: { x: 1 }, session_id: "s-1", agent_id: "ag" });
  await assert.rejects(app.callTool("calc_calc_fail", {}), (err) => code(ErrorCodes.TOOL_EXECUTION_FAILED)(err) && /topic tool failed/.test((err as Error).message));
  await sleep(20);
  assert.deepEqual(seen, [], "neither calls nor replies travel on the shared broker");
});

test("tools - only the owning plugin may answer its tool: replies from other plugins are refused and logged", async (t) => {
  const { app, add, logs } = setup(t);
  const owner = add({ id: "calc", mode: "topic-hold", expose: [{ name: "calc.hold", schema: ANY }] });
  const outsider = add({ id: "rogue", mode: "echo" });
  const twin = add({ id: "twin", mode: "topic-hold", expose: [{ name: "calc.hold", schema: ANY }] });
  await app.start();
  let settled = false;
  const call = app.callTool("calc_calc_hold", { q: 1 }, { timeoutMs: 600_000 }).finally(() => (settled = true));
  const held = await waitFor(async () => {
    const r = (await owner.call("test.held_topic_calls", {}, 5000)) as { ids: string[] };
    return r.ids.length === 1 && r.ids;
  }, "the owner holds the call");
  const forged = (source: string) => ({
    topic: "plugin.tool.calc.hold.reply",
    event: { source, correlation_id: held[0], payload: { result: { forged: source } } },
  });
  // A plugin without this tool: its allowlist has no plugin.tool.calc.hold.reply.
  await outsider.call("test.publish", forged("rogue"), 5000);
  await waitFor(() => outsider.status().deniedPublishes === 1, "rogue's reply refused");
  // A plugin exposing a tool of the same name may use that reply topic, but only for its own calls.
  await twin.call("test.publish", forged("twin"), 5000);
  await waitFor(() => twin.status().deniedPublishes === 1, "twin's reply refused");
  assert.equal(settled, false, "the forged replies did not settle the call");
  assert.ok(logs().some((l) => l.plugin === "rogue" && /outside the plugin's allowlist/.test(l.msg)));
  assert.ok(logs().some((l) => l.plugin === "twin" && /refused/.test(l.msg) && /no call of plugin twin awaits/.test(String(l.err))));
  await owner.call("test.answer_held", { result: { from: "calc" } }, 5000);
  assert.deepEqual((await call).structured_content, { from: "calc" });
});

test("tools - workflows are tools: middleware applies, invalid inputs map to INVALID_ARGS, failures hide internals, timeouts abort", async (t) => {
  const { app, logs } = setup(t);
  const seen: string[] = [];
  app.use(async (call, next) => {
    seen.push(`${call.workflowName}:${call.context.channel}:${call.context.principal?.id ?? "-"}`);
    return next();
  });
  app.register("greet", ({ name }) => ({ text: `hi ${name}` }), { inputSchema: { type: "object", required: ["name"], properties: { name: { type: "string" } } } });
  app.register("explode", () => {
    throw new Error("secret detail /srv/app.js:42");
  });
  app.register("refuse", () => {
    throw new NexoError(ErrorCodes.TOOL_DENIED, "not you");
  });
  app.register("slow", async (_i, ctx) => {
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    return "late";
  });
  await app.start();
  const r = await app.callTool("greet", { name: "Ada" }, { channel: "mcp", principal: { id: "u1" } });
  assert.deepEqual(r.structured_content, { text: "hi Ada" });
  assert.deepEqual(seen, ["greet:mcp:u1"]);
  await assert.rejects(
    app.callTool("greet", { name: 5 }),
    (err) => code(ErrorCodes.TOOL_INVALID_ARGS)(err) && ((err as NexoError).details.data as any).violations[0].path === "/name",
  );
  await assert.rejects(app.callTool("explode", {}), (err) => {
    assert.ok(isNexoError(err, ErrorCodes.TOOL_EXECUTION_FAILED));
    assert.doesNotMatch(err.message, /secret/);
    const id = /error id (\S+)/.exec(err.message)?.[1];
    assert.ok(
      logs().some((l) => l.errorId === id && /secret/.test(JSON.stringify(l.err))),
      "the details are in the log under the error id",
    );
    return true;
  });
  await assert.rejects(app.callTool("refuse", {}), code(ErrorCodes.TOOL_DENIED));
  await assert.rejects(app.callTool("slow", {}, { timeoutMs: 100 }), code(ErrorCodes.TOOL_TIMEOUT));
});

test("tools - onToolCalled hooks and tool.<name>.completed|failed broker events report every call, without arguments or results", async (t) => {
  const { app, calc } = setup(t);
  calc();
  app.register("greet", () => "hi");
  const hooked: ToolCalledEvent[] = [];
  app.onToolCalled((e) => void hooked.push(e));
  const events: Event[] = [];
  app.broker.subscribe("tool.>", (e) => void events.push(e));
  await app.start();
  await app.callTool("calc_echo", { i: 1 }, { sessionId: "s", agentId: "a", channel: "http" });
  await app.callTool("greet", {});
  await app.callTool("calc_fail", {}).catch(() => undefined);
  await app.callTool("calc_crash", {}).catch(() => undefined);
  await waitFor(() => hooked.length === 4 && events.length === 4, "4 hook calls and 4 events");
  assert.deepEqual(
    hooked.map((e) => [e.toolName, e.source, e.plugin, e.ok, e.error?.code ?? null]),
    [
      ["calc_echo", "plugin", "calc", true, null],
      ["greet", "workflow", null, true, null],
      ["calc_fail", "plugin", "calc", false, ErrorCodes.TOOL_EXECUTION_FAILED],
      ["calc_crash", "plugin", "calc", false, ErrorCodes.TOOL_INVALID_ARGS],
    ],
  );
  assert.deepEqual([hooked[0].channel, hooked[0].sessionId, hooked[0].agentId], ["http", "s", "a"]);
  assert.ok(hooked.every((e) => e.duration >= 0 && typeof e.callId === "string"));
  assert.deepEqual(
    events.map((e) => e.topic),
    ["tool.calc_echo.completed", "tool.greet.completed", "tool.calc_fail.failed", "tool.calc_crash.failed"],
  );
  assert.equal((events[0].payload as any).call_id, hooked[0].callId);
  assert.ok(!JSON.stringify(events).includes('"i":1'), "arguments are not published");
});

test("tools - the list follows workflows: registering and unregistering notify onToolsChanged", async (t) => {
  const { app } = setup(t);
  await app.start();
  let changes = 0;
  app.onToolsChanged(() => changes++);
  const off = app.register("late", () => 1);
  await waitFor(() => changes === 1, "change after register");
  assert.ok(app.listTools().some((x) => x.name === "late"));
  off();
  await waitFor(() => changes === 2, "change after unregister");
  assert.equal(app.getTool("late"), undefined);
  app.register("a", () => 1);
  app.register("b", () => 1);
  await waitFor(() => changes === 3, "one coalesced change for two registrations");
  await sleep(20);
  assert.equal(changes, 3);
});

test("tools - clashing public names keep their first owner and bad schemas are refused, each logged once with a code", async (t) => {
  const { app, add, logs } = setup(t);
  app.register("calc_echo", () => "the workflow wins");
  add({
    id: "calc",
    mode: "echo",
    tools: ["echo", "strange", "broken"],
    catalogue: [
      { name: "echo", input_schema: ANY },
      { name: "strange", input_schema: { type: "string" } },
      { name: "broken", input_schema: { type: "object", properties: { a: { type: "no-such-type" } } } },
    ],
    expose: [
      { name: "a.b", schema: ANY },
      { name: "a_b", schema: ANY },
      { name: "bad..name", schema: ANY },
    ],
  });
  await app.start();
  assert.deepEqual(
    app.listTools().map((x) => x.name),
    ["calc_echo", "calc_a_b"],
  );
  assert.equal(app.getTool("calc_echo")?.source, "workflow");
  assert.equal(app.getTool("calc_a_b")?.pluginTool, "a.b");
  const warned = logs().filter((l) => l.level === 40 && typeof l.code === "string" && l.code.startsWith("NEXO_ERR_TOOL_"));
  assert.deepEqual(warned.map((l) => [l.code, l.tool]).sort(), [
    [ErrorCodes.TOOL_INVALID_SCHEMA, "bad..name"],
    [ErrorCodes.TOOL_INVALID_SCHEMA, "broken"],
    [ErrorCodes.TOOL_INVALID_SCHEMA, "strange"],
    [ErrorCodes.TOOL_NAME_CONFLICT, "a_b"],
    [ErrorCodes.TOOL_NAME_CONFLICT, "echo"],
  ]);
  app.listTools();
  assert.equal(logs().filter((l) => l.level === 40 && l.code === ErrorCodes.TOOL_NAME_CONFLICT).length, 2, "not logged again on every rebuild");
});

test("tools - callTool after stop is refused with NEXO_ERR_APP_STOPPED", async (t) => {
  const { app } = setup(t);
  app.register("greet", () => "hi");
  await app.start();
  await app.stop();
  await assert.rejects(app.callTool("greet", {}), code(ErrorCodes.APP_STOPPED));
});

test("tools - a topic-form reply after the call timed out is dropped quietly, not counted as a forged reply; a replay of it is refused", async (t) => {
  const { app, add, logs } = setup(t);
  const owner = add({ id: "calc", mode: "topic-hold", expose: [{ name: "calc.hold", schema: ANY }] });
  await app.start();
  await assert.rejects(app.callTool("calc_calc_hold", {}, { timeoutMs: 100 }), code(ErrorCodes.TOOL_TIMEOUT));
  const { events } = (await owner.call("test.held_topic_calls", {}, 5000)) as { events: Array<{ id: string }> };
  assert.equal(events.length, 1);
  await owner.call("test.answer_held", { result: "too late" }, 5000);
  await waitFor(() => logs().some((l) => /late tool reply/.test(l.msg) && l.correlationId === events[0].id), "late reply logged at debug");
  assert.equal(owner.status().deniedPublishes, 0);
  await owner.call("test.publish", { topic: "plugin.tool.calc.hold.reply", event: { correlation_id: events[0].id, payload: { result: "again" } } }, 5000);
  await waitFor(() => owner.status().deniedPublishes === 1, "the replay refused");
});

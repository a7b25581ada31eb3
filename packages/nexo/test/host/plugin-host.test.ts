import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import { newEvent, RpcError, type Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { PluginHost, type PluginHostOptions, type PluginSpec } from "../../src/host/index.js";
import { silentLogger } from "../../src/log/index.js";
import { fixturePlugin, tempDir, type FixtureOptions } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

function setup(t: TestContext, overrides: Partial<PluginHostOptions> = {}) {
  const root = tempDir(t);
  const broker = new LocalBroker();
  const host = new PluginHost({
    broker,
    logger: silentLogger(),
    nexoVersion: "0.1.0",
    stateRoot: join(root, "state"),
    timeouts: { initMs: 3000, shutdownReplyMs: 1000, killGraceMs: 300 },
    supervisor: { random: () => 0.5 },
    ...overrides,
  });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  const add = (opts: FixtureOptions, spec: Partial<PluginSpec> = {}) => host.add({ manifest: fixturePlugin(root, opts), ...spec });
  return { root, broker, host, add };
}

function collect(broker: LocalBroker, pattern: string): Event[] {
  const seen: Event[] = [];
  broker.subscribe(pattern, (e) => void seen.push(e));
  return seen;
}

test("host - handshake: a good plugin becomes ready, gets its config and its state dir", async (t) => {
  const { host, add, root } = setup(t);
  const sup = add({ id: "echo", mode: "echo" }, { config: { greeting: "hi" } });
  await host.startAll();
  const s = sup.status();
  assert.equal(s.state, "ready");
  assert.ok(s.pid && s.pid > 0);
  const stateDir = join(root, "state", "plugins", "echo");
  assert.ok(existsSync(stateDir));
  assert.deepEqual(JSON.parse(readFileSync(join(stateDir, "config.json"), "utf8")), { value: { greeting: "hi" } });
  assert.ok(
    s.stderrTail.some((l) => l.includes("fixture echo starting")),
    "stderr is captured from the first byte",
  );
});

test("host - echo round trip: plugin.outbound.K reaches the plugin and its publish on plugin.inbound.K reaches the broker", async (t) => {
  const { host, add, broker } = setup(t);
  add({ id: "echo", mode: "echo" });
  await host.startAll();
  const seen = collect(broker, "plugin.inbound.>");
  const sent = newEvent("plugin.outbound.echo", "test", { text: "hi" }, { sessionId: "s1" });
  await broker.publish("plugin.outbound.echo", sent);
  await waitFor(() => seen.length === 1, "echoed event");
  assert.equal(seen[0].topic, "plugin.inbound.echo");
  assert.deepEqual(seen[0].payload, { text: "hi" });
  assert.equal(seen[0].source, "echo");
  assert.equal(seen[0].session_id, "s1");
  assert.notEqual(seen[0].id, sent.id, "host filled a fresh id for the omitted one");
});

test("host - handshake refuses a plugin that reports another id, and does not respawn it", async (t) => {
  const { host, add } = setup(t);
  const sup = add({ id: "honest", mode: "wrong-id" });
  const report = await host.startAll();
  assert.deepEqual(report.ready, []);
  assert.equal(report.failed[0].key, "honest");
  assert.match(report.failed[0].error, /impostor/);
  assert.equal(sup.status().state, "failed");
  assert.equal(sup.status().restarts, 0);
  assert.equal(sup.status().pid, null, "the child was killed");
});

test("host - handshake refuses a plugin advertising a tool it did not declare", async (t) => {
  const { add } = setup(t);
  const sup = add({ id: "tooly", mode: "undeclared-tool" });
  await assert.rejects(sup.start(), (err) => isNexoError(err, ErrorCodes.HOST_TOOL_UNDECLARED));
  assert.equal(sup.status().state, "failed");
});

test("host - handshake kills a plugin that does not answer initialize within the deadline", async (t) => {
  const { host, add } = setup(t, { timeouts: { initMs: 300 } });
  const sup = add({ id: "mute", mode: "silent", supervisor: { respawn: false } });
  const started = Date.now();
  await assert.rejects(sup.start(), (err) => isNexoError(err, ErrorCodes.HOST_PLUGIN_EXITED));
  assert.ok(Date.now() - started < 5000);
  assert.equal(sup.status().state, "failed");
  assert.match(sup.status().lastError ?? "", /not be restarted/);
  assert.equal(sup.status().pid, null);
  void host;
});

test("host - handshake: garbage instead of JSON is dropped and logged, and the plugin times out", async (t) => {
  const cap = captureLogger();
  // Room for a loaded machine to start the plugin and read its garbage before the deadline ends it.
  const { add } = setup(t, { timeouts: { initMs: 2000 }, logger: cap.logger });
  const sup = add({ id: "garbage", mode: "garbage", supervisor: { respawn: false } });
  await assert.rejects(sup.start());
  assert.ok(cap.lines().some((l) => l.msg === "dropped a bad frame from the plugin" && l.problem === "invalid_json" && l.plugin === "garbage"));
  assert.ok(cap.lines().some((l) => l.msg === "plugin failed to start" && l.code === ErrorCodes.HOST_INIT_TIMEOUT));
});

test("host - allowlist: publishes on agent.route.x or another kind are refused, logged and counted; own topic passes", async (t) => {
  const cap = captureLogger();
  const { host, add, broker } = setup(t, { logger: cap.logger });
  const everything = collect(broker, ">");
  add({ id: "rogue", mode: "bad-publisher" });
  await host.startAll();
  await waitFor(() => everything.some((e) => e.topic === "plugin.inbound.rogue"), "the allowed publish");
  await waitFor(() => host.require("rogue").status().deniedPublishes === 2, "two denials counted");
  assert.equal(everything.filter((e) => e.topic === "agent.route.x" || e.topic === "plugin.inbound.other_kind").length, 0);
  const denials = cap.lines().filter((l) => l.msg?.includes("outside the plugin's allowlist"));
  assert.deepEqual(denials.map((l) => l.topic).sort(), ["agent.route.x", "plugin.inbound.other_kind"]);
});

test("host - a refused plugin topic is logged clipped to 200 characters, with a note of how much was cut", async (t) => {
  const cap = captureLogger();
  const { host, add } = setup(t, { logger: cap.logger });
  const topic = `plugin.inbound.${"x ".repeat(2500)}`;
  add({ id: "longtopic", mode: "bad-publisher", env: { FIXTURE_BAD_TOPIC: topic } });
  await host.startAll();
  await waitFor(() => cap.lines().some((l) => l.msg === "broker request from the plugin refused"), "the refusal logged");
  const line = cap.lines().find((l) => l.msg === "broker request from the plugin refused")!;
  assert.equal(line.topic, `${topic.slice(0, 200)}… [${topic.length - 200} more characters]`);
  assert.ok(String(line.err).length < 300, "the refusal's message is clipped too");
});

test("host - events without id/timestamp/session_id from a plugin are completed", async (t) => {
  const { host, add, broker } = setup(t);
  add({ id: "sparse", mode: "no-fields" });
  await host.startAll();
  const seen = collect(broker, "plugin.inbound.sparse");
  await broker.publish("plugin.outbound.sparse", newEvent("plugin.outbound.sparse", "test", { n: 1 }));
  await waitFor(() => seen.length === 1, "completed event");
  const e = seen[0];
  assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(!Number.isNaN(Date.parse(e.timestamp)) && e.timestamp.endsWith("Z"));
  assert.equal(e.session_id, null);
  assert.deepEqual(e.payload, { n: 1 });
});

test("host - an event too large for a plugin's frame limit is dropped, counted and logged, never counted as delivered", async (t) => {
  const cap = captureLogger();
  const { host, add, broker } = setup(t, { logger: cap.logger });
  const sup = add({ id: "echo", mode: "echo" });
  await host.startAll();
  const seen = collect(broker, "plugin.inbound.echo");
  await broker.publish("plugin.outbound.echo", newEvent("plugin.outbound.echo", "test", { big: "x".repeat(1024 * 1024) }));
  await broker.publish("plugin.outbound.echo", newEvent("plugin.outbound.echo", "test", { text: "after" }));
  await waitFor(() => seen.length === 1, "the next event still flows");
  assert.deepEqual(seen[0].payload, { text: "after" });
  const s = sup.status();
  assert.equal(s.droppedEvents, 1);
  assert.equal(s.delivered, 1);
  const line = cap.lines().find((l) => l.code === ErrorCodes.CONTRACT_FRAME_TOO_LARGE);
  assert.ok(line, "the drop is logged with its reason");
  assert.equal(line.method, "broker.event");
  assert.match(line.msg, /dropped/);
});

test("host - backpressure: a plugin that never reads gets events dropped and counted; the daemon stays responsive", async (t) => {
  const { host, add, broker } = setup(t, { timeouts: { initMs: 3000, shutdownReplyMs: 200, killGraceMs: 200 } });
  const sup = add({ id: "deaf", mode: "never-reads" });
  await host.startAll();
  const big = "x".repeat(4096);
  for (let i = 0; i < 3000; i++) await broker.publish("plugin.outbound.deaf", newEvent("plugin.outbound.deaf", "test", { i, big }));
  await waitFor(() => sup.status().droppedEvents > 0, "drops to be counted");
  // The broker still serves others promptly.
  const probe = collect(broker, "probe.x");
  await broker.publish("probe.x", newEvent("probe.x", "test", null));
  await waitFor(() => probe.length === 1, "probe delivery", 2000);
  const s = sup.status();
  // Each event is written to the pipe, waiting in the plugin's bounded subscription buffer (at most 1024 + the one in hand), or dropped and counted.
  const waiting = 3000 - s.droppedEvents - s.delivered;
  assert.ok(waiting >= 0 && waiting <= 1025, `delivered ${s.delivered}, dropped ${s.droppedEvents}, waiting ${waiting}`);
  assert.equal(s.state, "ready");
});

test("host - shutdown: a plugin that ignores shutdown is killed after the grace", async (t) => {
  const { host, add } = setup(t, { timeouts: { initMs: 3000, shutdownReplyMs: 300, killGraceMs: 200 } });
  const sup = add({ id: "stubborn", mode: "ignore-shutdown" });
  await host.startAll();
  const pid = sup.status().pid!;
  const started = Date.now();
  await sup.stop();
  assert.ok(Date.now() - started < 3000);
  assert.equal(sup.status().state, "stopped");
  assert.equal(sup.status().lastSignal, "SIGKILL");
  assert.throws(() => process.kill(pid, 0), "process is gone");
});

test("host - shutdown: a plugin that replies but lingers is SIGKILLed after the 1 s grace", async (t) => {
  const { host, add } = setup(t, { timeouts: { initMs: 3000, shutdownReplyMs: 1000, killGraceMs: 1000 } });
  const sup = add({ id: "linger", mode: "linger-after-shutdown" });
  await host.startAll();
  const started = Date.now();
  await sup.stop();
  const took = Date.now() - started;
  assert.ok(took >= 900, `waited the grace (${took} ms)`);
  assert.equal(sup.status().lastSignal, "SIGKILL");
});

test("host - shutdown: a well-behaved plugin exits 0 on its own", async (t) => {
  const { host, add } = setup(t);
  const sup = add({ id: "polite", mode: "echo" });
  await host.startAll();
  await sup.stop();
  assert.equal(sup.status().lastExitCode, 0);
  assert.equal(sup.status().lastSignal, null);
});

test("host - supervisor: respawns with backoff, publishes lifecycle events, gives up on a crash loop", async (t) => {
  const { host, add, broker } = setup(t);
  const events = collect(broker, "plugin.lifecycle.loop.>");
  const sup = add({ id: "loop", mode: "crash-after-ready", supervisor: { max_attempts: 2, backoff_ms: 40 } });
  await host.startAll();
  await waitFor(() => sup.status().state === "failed", "gave up", 15_000);
  const kinds = events.map((e) => e.topic.split(".").pop());
  assert.deepEqual(kinds, ["ready", "crashed", "respawning", "respawned", "crashed", "respawning", "respawned", "crashed", "gave_up"]);
  const respawning = events.filter((e) => e.topic.endsWith(".respawning")).map((e) => e.payload as { attempt: number; backoff_ms: number });
  assert.deepEqual(
    respawning.map((p) => p.attempt),
    [1, 2],
  );
  assert.ok(respawning[1].backoff_ms > respawning[0].backoff_ms, "backoff doubles");
  const crashed = events.find((e) => e.topic.endsWith(".crashed"))!.payload as { exit_code: number; stderr_tail: string[] };
  assert.equal(crashed.exit_code, 7);
  assert.ok(crashed.stderr_tail.some((l) => l.includes("fixture crash-after-ready")));
  assert.ok(events.every((e) => e.source === "plugin.supervisor"));
  assert.equal(sup.status().restarts, 2);
});

test("host - supervisor: a plugin that crashes once is respawned and serves again", async (t) => {
  const { host, add, broker } = setup(t);
  const sup = add({ id: "phoenix", mode: "crash-once" });
  await host.startAll();
  await waitFor(() => sup.status().restarts === 1 && sup.status().state === "ready", "respawned");
  const seen = collect(broker, "plugin.inbound.phoenix");
  await broker.publish("plugin.outbound.phoenix", newEvent("plugin.outbound.phoenix", "t", 1));
  await waitFor(() => seen.length === 1, "echo after respawn");
});

test("host - pending calls fail at once when the plugin dies", async (t) => {
  const { host, add } = setup(t);
  const sup = add({ id: "calc", mode: "tools", tools: ["add"], supervisor: { respawn: false } });
  await host.startAll();
  assert.deepEqual(await host.invokeTool("calc", { tool_name: "add", args: { a: 2, b: 3 } }), { content: [{ type: "text", text: "5" }], is_error: false });
  const slow = host.invokeTool("calc", { tool_name: "add", args: { a: 1, b: 1, delay_ms: 30_000 } });
  const started = Date.now();
  process.kill(sup.status().pid!, "SIGKILL");
  await assert.rejects(slow, (err) => isNexoError(err, ErrorCodes.HOST_PLUGIN_RESTARTED) && /retry/.test((err as Error).message));
  assert.ok(Date.now() - started < 5000, "failed at once, not after the timeout");
});

test("host - plugin requests: unknown method is -32601, memory.recall without a backend is -32603, broker.subscribe is checked", async (t) => {
  const { host, add, broker } = setup(t);
  const sup = add({ id: "sub", mode: "subscriber" });
  await host.startAll();
  const ask = (method: string, params: unknown) => sup.call("test.call_host", { method, params }, 5000) as Promise<{ reply: any }>;
  assert.equal((await ask("no.such.method", {})).reply.error.code, -32601);
  // Names every plain object answers to are not host services either.
  for (const method of ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__", "__defineGetter__"]) {
    const reply = (await ask(method, {})).reply;
    assert.equal(reply.error?.code, -32601, `${method}: ${JSON.stringify(reply)}`);
  }
  const recall = (await ask("memory.recall", { agent_id: "a", query: "q" })).reply.error;
  assert.equal(recall.code, -32603);
  assert.match(recall.message, /not configured/);
  const refused = (await sup.call("test.subscribe", { pattern: "agent.>" }, 5000)) as { reply: any };
  assert.equal(refused.reply.error.code, -32602);
  const ok = (await sup.call("test.subscribe", { pattern: "plugin.outbound.sub.*" }, 5000)) as { reply: any };
  assert.match(ok.reply.result.subscriber_id, /^sub-/);
  const seen = collect(broker, "plugin.inbound.sub.via_sub");
  await broker.publish("plugin.outbound.sub.room1", newEvent("plugin.outbound.sub.room1", "t", { x: 1 }));
  await waitFor(() => seen.length === 1, "event via the plugin's own subscription");
});

test("host - a plugin subscribed twice to one pattern gets each event on both subscriptions (work sharing keeps them apart)", async (t) => {
  const { host, add, broker } = setup(t);
  const sup = add({ id: "sub", mode: "subscriber" });
  await host.startAll();
  for (let i = 0; i < 2; i++) {
    const ok = (await sup.call("test.subscribe", { pattern: "plugin.outbound.sub.*" }, 5000)) as { reply: any };
    assert.match(ok.reply.result.subscriber_id, /^sub-/);
  }
  const seen = collect(broker, "plugin.inbound.sub.via_sub");
  await broker.publish("plugin.outbound.sub.room1", newEvent("plugin.outbound.sub.room1", "t", { x: 1 }));
  await waitFor(() => seen.length === 2, "the event through each of the two subscriptions");
});

test("host - host services answer plugin requests (memory.recall)", async (t) => {
  const { host, add } = setup(t, {
    hostServices: { "memory.recall": async (params) => ({ entries: [{ id: "m1", content: `about ${(params as any).query}` }] }) },
  });
  const sup = add({ id: "mem", mode: "echo" });
  await host.startAll();
  const r = (await sup.call("test.call_host", { method: "memory.recall", params: { agent_id: "a", query: "cats" } }, 5000)) as { reply: any };
  assert.equal(r.reply.result.entries[0].content, "about cats");
});

test("host - restart: nexo plugin restart stops and starts again with a new pid", async (t) => {
  const { host, add, broker } = setup(t);
  const events = collect(broker, "plugin.lifecycle.again.>");
  const sup = add({ id: "again", mode: "echo" });
  await host.startAll();
  const pid1 = sup.status().pid;
  const s = await host.restart("again");
  assert.equal(s.state, "ready");
  assert.notEqual(s.pid, pid1);
  assert.ok(events.some((e) => e.topic === "plugin.lifecycle.again.restarted_manually"));
  assert.throws(
    () => host.require("nope"),
    (err) => isNexoError(err, ErrorCodes.HOST_PLUGIN_NOT_FOUND),
  );
});

test("host - a tool error reply from the plugin comes back as an RpcError with its code", async (t) => {
  const { host, add } = setup(t);
  add({ id: "calc", mode: "tools", tools: ["add"] });
  await host.startAll();
  await assert.rejects(host.invokeTool("calc", { tool_name: "nope", args: {} }), (err) => err instanceof RpcError && err.code === -33401);
});

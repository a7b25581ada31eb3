import assert from "node:assert/strict";
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { event, PluginProcess } from "./harness.js";

async function started(t: TestContext, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<PluginProcess> {
  const p = PluginProcess.start(t, "bridge.ts", args, env, cwd);
  const init = await p.request("initialize", { nexo_version: "0.1.0" });
  assert.ok(init.result, JSON.stringify(init));
  return p;
}

const invoke = (p: PluginProcess, tool_name: string, args: Record<string, unknown> = {}) =>
  p.request("tool.invoke", { plugin_id: "bridge", tool_name, args, agent_id: "agent-1" }, 15_000);

function tmp(t: TestContext): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "nexo-sdk-")));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("sdk - broker.subscribe routes events by subscriber_id; unsubscribe tells the host and stops the handler", async (t) => {
  const p = await started(t);
  const subCall = invoke(p, "subscribe", { pattern: "plugin.outbound.bridge.>" });
  const req = await p.waitFor((f) => f.method === "broker.subscribe", "broker.subscribe request");
  assert.deepEqual(req.params, { topic_pattern: "plugin.outbound.bridge.>" });
  p.send({ jsonrpc: "2.0", id: req.id, result: { subscriber_id: "sub-7" } });
  assert.equal((await subCall).result, "sub-7");

  p.notify("broker.event", { subscriber_id: "sub-7", topic: "plugin.outbound.bridge.a", event: event("plugin.outbound.bridge.a", { n: 1 }) });
  p.notify("broker.event", { topic: "plugin.outbound.bridge", event: event("plugin.outbound.bridge", { n: 2 }) });
  await p.waitFor(() => p.published().length === 2, "two publishes");
  assert.deepEqual(
    p.published().map((f) => f.params.event.payload),
    [
      { via: "sub", topic: "plugin.outbound.bridge.a", n: 1 },
      { via: "default", topic: "plugin.outbound.bridge", n: 2 },
    ],
  );

  const unsubCall = invoke(p, "unsubscribe", { id: "sub-7" });
  const ureq = await p.waitFor((f) => f.method === "broker.unsubscribe", "broker.unsubscribe request");
  assert.deepEqual(ureq.params, { subscriber_id: "sub-7" });
  p.send({ jsonrpc: "2.0", id: ureq.id, result: { ok: true } });
  assert.equal((await unsubCall).result, "unsubscribed");
  p.notify("broker.event", { subscriber_id: "sub-7", topic: "plugin.outbound.bridge.a", event: event("plugin.outbound.bridge.a", { n: 3 }) });
  await p.waitFor(() => p.published().length === 3, "third publish");
  assert.equal(p.published()[2].params.event.payload.via, "default", "a stale subscriber id falls back to onEvent");
});

test("sdk - publishAcked is a request: ok resolves, a host refusal becomes the tool's error", async (t) => {
  const p = await started(t);
  const okCall = invoke(p, "acked", { topic: "plugin.inbound.bridge" });
  const req = await p.waitFor((f) => f.method === "broker.publish" && f.id !== undefined, "acked publish");
  assert.equal(req.params.topic, "plugin.inbound.bridge");
  assert.equal(req.params.event.payload.acked, true);
  p.send({ jsonrpc: "2.0", id: req.id, result: { ok: true } });
  assert.deepEqual((await okCall).result, { ok: true });

  const badCall = invoke(p, "acked", { topic: "plugin.inbound.other" });
  const req2 = await p.waitFor((f) => f.method === "broker.publish" && f.id !== undefined && f.id !== req.id, "second acked publish");
  p.send({ jsonrpc: "2.0", id: req2.id, error: { code: -32602, message: "topic plugin.inbound.other outside the allowlist" } });
  const bad = await badCall;
  assert.equal(bad.error.code, -33403);
  assert.match(bad.error.message, /outside the allowlist/);
});

test("sdk - onTopicTool answers plugin.tool.<name> on the .reply topic with the correlation id; a throw is an error payload", async (t) => {
  const p = await started(t);
  p.notify("broker.event", { topic: "plugin.tool.bridge.add", event: { ...event("plugin.tool.bridge.add", { a: 2, b: 3 }), correlation_id: "corr-1", session_id: "s-9" } });
  p.notify("broker.event", { topic: "plugin.tool.bridge.add", event: event("plugin.tool.bridge.add", { a: "x" }, "call-2") });
  await p.waitFor(() => p.published().length === 2, "two replies");
  // Topic tool calls run concurrently, so replies are matched by correlation id, not by order.
  const replies = p.published().map((f) => f.params);
  const ok = replies.find((r) => r.event.correlation_id === "corr-1")!;
  const bad = replies.find((r) => r.event.correlation_id !== "corr-1")!;
  assert.equal(ok.topic, "plugin.tool.bridge.add.reply");
  assert.equal(ok.event.topic, "plugin.tool.bridge.add.reply");
  assert.deepEqual(ok.event.payload, { result: 5 });
  assert.equal(ok.event.correlation_id, "corr-1");
  assert.equal(ok.event.session_id, "s-9");
  assert.deepEqual(bad.event.payload, { error: { code: -33403, message: "a must be a number" } });
  assert.equal(bad.event.correlation_id, "call-2", "without a correlation id the call's event id is used");
});

test("sdk - shutdown fails the plugin's pending host calls, so the in-flight tool answers before the shutdown reply", async (t) => {
  const p = await started(t);
  const recall = invoke(p, "recall");
  await p.waitFor((f) => f.method === "memory.recall", "memory.recall request (never answered)");
  const r = await p.request("shutdown", { reason: "test" });
  assert.deepEqual(r.result, { ok: true });
  const tool = await recall;
  assert.equal(tool.error.code, -33403);
  assert.match(tool.error.message, /memory\.recall abandoned: plugin is shutting down/);
  assert.ok(p.frames.indexOf(tool) < p.frames.indexOf(r), "tool reply precedes the shutdown reply");
  assert.equal((await p.exited).code, 0);
});

test("sdk - a throwing onShutdown makes the reply -32000 and the process still exits 0", async (t) => {
  const p = await started(t, ["hook-fails"]);
  const r = await p.request("shutdown", { reason: "test" });
  assert.equal(r.error.code, -32000);
  assert.match(r.error.message, /hook broke on purpose/);
  assert.equal((await p.exited).code, 0);
});

test("sdk - SIGINT drains and exits 0", async (t) => {
  const p = await started(t);
  p.child.kill("SIGINT");
  const exit = await p.exited;
  assert.equal(exit.code, 0);
  assert.match(p.stderr, /shutting down \(SIGINT\)/);
});

test("sdk - a reply larger than maxFrameBytes becomes a -32603 error and the plugin keeps serving", async (t) => {
  const p = await started(t);
  const big = await invoke(p, "big");
  assert.equal(big.error.code, -32603);
  assert.match(big.error.message, /exceeds the 1048576-byte limit/);
  assert.equal((await invoke(p, "nope")).error.code, -33405);
});

test("sdk - the event backlog is bounded: beyond maxQueuedEvents events are dropped and counted", async (t) => {
  const p = await started(t, ["--max-queued=10"]);
  // The first handler blocks on a gate that only the "release" tool opens; stdin is read in order,
  // so every event below is dispatched before the release call.
  p.notify("broker.event", { topic: "plugin.outbound.bridge", event: event("plugin.outbound.bridge", { gate: true, n: 0 }) });
  for (let n = 1; n < 50; n++) p.notify("broker.event", { topic: "plugin.outbound.bridge", event: event("plugin.outbound.bridge", { n }) });
  const released = await invoke(p, "release");
  assert.equal(released.result, 40);
  await p.waitFor(() => p.published().length === 10, "ten publishes");
  assert.deepEqual(
    p.published().map((f) => f.params.event.payload.n),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.match(p.stderr, /event backlog full \(10\)/);
});

test("sdk - a publish made before run() goes out once the adapter runs", async (t) => {
  const p = PluginProcess.start(t, "bridge.ts", ["early"]);
  const first = await p.waitFor((f) => f.method === "broker.publish", "early publish");
  assert.deepEqual(first.params.event.payload, { early: true });
  assert.equal((await p.request("initialize", {})).result.manifest.plugin.id, "bridge");
});

test("sdk - stateDir: NEXO_PLUGIN_STATE_DIR wins, else ./.nexo-state/<manifest id>, created either way", async (t) => {
  const dir = tmp(t);
  const fromEnv = join(dir, "from-env");
  const a = await started(t, [], { NEXO_PLUGIN_STATE_DIR: fromEnv });
  assert.equal((await invoke(a, "state")).result, fromEnv);
  assert.ok(existsSync(fromEnv));
  const b = PluginProcess.start(t, "bridge.ts", [], { NEXO_PLUGIN_STATE_DIR: "" }, dir);
  await b.request("initialize", {});
  assert.equal((await invoke(b, "state")).result, join(dir, ".nexo-state", "bridge"));
  assert.ok(existsSync(join(dir, ".nexo-state", "bridge")));
});

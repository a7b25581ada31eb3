import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { isUuid, sessionUuid } from "../src/index.js";
import { event, PluginProcess } from "./harness.js";

async function started(t: TestContext, env: NodeJS.ProcessEnv = {}): Promise<PluginProcess> {
  const p = PluginProcess.start(t, "wire.ts", [], env);
  assert.ok((await p.request("initialize", { nexo_version: "0.1.0" })).result);
  return p;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

test("sdk wire - initialize advertises each tool as {name, description, input_schema}: inputSchema is renamed, never sent as is", async (t) => {
  const p = PluginProcess.start(t, "wire.ts");
  const init = await p.request("initialize", { nexo_version: "0.1.0" });
  assert.equal(init.result.tools.length, 4);
  for (const tool of init.result.tools) {
    assert.deepEqual(Object.keys(tool).sort(), ["description", "input_schema", "name"]);
    assert.deepEqual(tool.input_schema, { type: "object" });
  }
});

test("sdk wire - omitted tool args reach the handler as null, other JSON as sent; agentId undefined when absent", async (t) => {
  const p = await started(t);
  assert.deepEqual((await p.request("tool.invoke", { plugin_id: "wire", tool_name: "wire_args" })).result, { args: null, agentId: "absent" });
  assert.deepEqual((await p.request("tool.invoke", { plugin_id: "wire", tool_name: "wire_args", args: [1, "x"], agent_id: "ag" })).result, { args: [1, "x"], agentId: "ag" });
  assert.deepEqual((await p.request("tool.invoke", { plugin_id: "wire", tool_name: "wire_args", args: 7 })).result, { args: 7, agentId: "absent" });
  const bad = await p.request("tool.invoke", { plugin_id: "wire", args: {} });
  assert.deepEqual([bad.error.code, bad.error.message], [-32602, "tool.invoke params missing string `tool_name`"]);
});

test("sdk wire - a tool result that cannot be serialized answers -33403", async (t) => {
  const p = await started(t);
  const r = await p.request("tool.invoke", { plugin_id: "wire", tool_name: "wire_bigint", args: {} });
  assert.equal(r.error.code, -33403);
  assert.match(r.error.message, /^execution failed: tool result not JSON-serializable: /);
});

test("sdk wire - llm.complete without streaming carries no stream member", async (t) => {
  const p = await started(t);
  const reply = p.request("tool.invoke", { plugin_id: "wire", tool_name: "wire_complete", args: {} });
  const req = await p.waitFor((f) => f.method === "llm.complete", "llm.complete");
  assert.deepEqual(req.params, { provider: "p", model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 4096, temperature: 0.7 });
  p.send({ jsonrpc: "2.0", id: req.id, result: { content: "ok", finish_reason: "stop", usage: { prompt_tokens: 1, completion_tokens: 1 } } });
  assert.equal((await reply).result.content, "ok");
});

test("sdk wire - a line that is not a JSON object is logged with the reference wording and dropped, never answered", async (t) => {
  const p = await started(t);
  p.write("{not json\n");
  p.write("42\n");
  p.write("null\n");
  assert.equal((await p.request("no.such")).error.code, -32601);
  assert.match(p.stderr, /plugin: malformed jsonrpc line: /);
  assert.equal(p.stderr.match(/plugin: jsonrpc frame must be an object/g)?.length, 2);
  assert.ok(!p.frames.some((f) => f.id === null), "no reply to a bad line");
});

test("sdk wire - under an upstream host a non-UUID session_id becomes a stable UUID (original in metadata); under Nexo it is kept", async (t) => {
  const up = await started(t, { NEXO_PLUGIN_KEY: undefined });
  for (const session of ["chat-42", "chat-42", "0190a8f6-1c2b-7d3e-8f40-123456789abc"]) {
    up.notify("broker.event", { topic: "plugin.outbound.wire", event: event("plugin.outbound.wire", { session }) });
  }
  await up.waitFor(() => up.published().length === 3, "three publishes");
  const evs = up.published().map((f) => f.params.event);
  for (const e of evs) {
    // What an upstream host's event parser requires: UUID id, RFC 3339 timestamp, session_id null or a UUID.
    assert.ok(isUuid(e.id), e.id);
    assert.match(e.timestamp, RFC3339);
    assert.ok(e.session_id === null || isUuid(e.session_id), e.session_id);
  }
  assert.equal(evs[0].session_id, sessionUuid("chat-42"));
  assert.equal(evs[1].session_id, evs[0].session_id, "the same conversation keeps one session id");
  assert.deepEqual(evs[0].metadata, { session_id: "chat-42" });
  assert.equal(evs[2].session_id, "0190a8f6-1c2b-7d3e-8f40-123456789abc", "a UUID passes unchanged");
  assert.equal(evs[2].metadata, undefined);

  const nexo = await started(t);
  nexo.notify("broker.event", { topic: "plugin.outbound.wire", event: event("plugin.outbound.wire", { session: "chat-42" }) });
  const [kept] = await nexo.waitFor(() => nexo.published().length === 1, "publish").then(() => nexo.published());
  assert.equal(kept.params.event.session_id, "chat-42");
});

test("sdk wire - correlation follows the handler: a tool publishing while an event handler awaits the host gets none, the handler's reply gets its event's id", async (t) => {
  const p = await started(t);
  const e = event("plugin.outbound.wire", { recall: true }, "evt-1");
  p.notify("broker.event", { topic: "plugin.outbound.wire", event: e });
  const recall = await p.waitFor((f) => f.method === "memory.recall", "recall from the handler");
  assert.deepEqual((await p.request("tool.invoke", { plugin_id: "wire", tool_name: "wire_publish", args: {} })).result, { published: true });
  p.send({ jsonrpc: "2.0", id: recall.id, result: { entries: [] } });
  await p.waitFor(() => p.published().length === 2, "two publishes");
  const [fromTool, fromEvent] = p.published().map((f) => f.params.event);
  assert.deepEqual([fromTool.payload, fromTool.correlation_id], [{ from: "tool" }, undefined]);
  assert.deepEqual([fromEvent.payload, fromEvent.correlation_id], [{ from: "event" }, "evt-1"]);
});

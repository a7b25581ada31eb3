import assert from "node:assert/strict";
import { test } from "node:test";
import { Event, uuidv7 } from "../src/index.js";
import { event, PluginProcess } from "./harness.js";

async function started(t: import("node:test").TestContext, args: string[] = []): Promise<PluginProcess> {
  const p = PluginProcess.start(t, "kitchen-sink.ts", args);
  const init = await p.request("initialize", { nexo_version: "0.1.0" });
  assert.ok(init.result, JSON.stringify(init));
  return p;
}

test("sdk - initialize returns the whole manifest, server_version default and the tool catalogue", async (t) => {
  const p = PluginProcess.start(t, "kitchen-sink.ts");
  const r = await p.request("initialize", {});
  assert.equal(r.id, 1);
  assert.equal(r.result.manifest.plugin.id, "sink");
  assert.equal(r.result.server_version, "sink-1.2.3");
  assert.deepEqual(
    r.result.tools.map((x: { name: string }) => x.name),
    ["add", "host", "fail"],
  );
  const q = PluginProcess.start(t, "kitchen-sink.ts", ["no-tools"]);
  const r2 = await q.request("initialize", { nexo_version: "0.1.0" });
  assert.equal("tools" in r2.result, false, "tools omitted when none");
});

test("sdk - plugin.configure reaches onConfigure; a refusal is an error reply", async (t) => {
  const p = await started(t);
  assert.deepEqual((await p.request("plugin.configure", { value: { a: 1 } })).result, { ok: true });
  assert.equal((await p.request("plugin.configure", { value: { reject: true } })).error.code, -32602);
  assert.equal((await p.request("plugin.configure", "nope")).error.code, -32602);
});

test("sdk - echo: broker.event in, broker.publish out on the mirrored topic, 1,000 events in order", async (t) => {
  const p = await started(t);
  const sentIds: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const e = event("plugin.outbound.sink", { i });
    sentIds.push(String(e.id));
    p.notify("broker.event", { topic: "plugin.outbound.sink", event: e });
  }
  await p.waitFor(() => p.published().length === 1000, "1000 publishes", 20_000);
  const pubs = p.published();
  pubs.forEach((f, i) => {
    assert.equal(f.params.topic, "plugin.inbound.sink");
    assert.equal(f.params.event.payload.i, i);
    assert.equal("id" in f, false, "publish is a notification");
  });
  const ev = pubs[0].params.event;
  assert.deepEqual(Object.keys(ev).sort(), ["correlation_id", "id", "payload", "session_id", "source", "timestamp", "topic"]);
  assert.equal(ev.correlation_id, sentIds[0], "a publish from a handler without a correlation_id gets the handled event's id");
  assert.ok(pubs.every((f, i) => f.params.event.correlation_id === sentIds[i]));
});

test("sdk - UTF-8 payloads come back byte-exact; a 256 KiB payload passes", async (t) => {
  const p = await started(t);
  const tricky = { s: 'emoji 😀🎉 CJK 日本語中文 한국어 control \u0001\u001f\t\n"quote" \\ end' };
  p.notify("broker.event", { topic: "plugin.outbound.sink", event: event("plugin.outbound.sink", tricky) });
  p.notify("broker.event", { topic: "plugin.outbound.sink", event: event("plugin.outbound.sink", { big: "x".repeat(256 * 1024) }) });
  await p.waitFor(() => p.published().length === 2, "two publishes");
  assert.deepEqual(p.published()[0].params.event.payload, tricky);
  assert.equal(p.published()[1].params.event.payload.big.length, 256 * 1024);
});

test("sdk - unknown method is -32601 with the id; bad params -32602; notifications never answered", async (t) => {
  const p = await started(t);
  const r = await p.request("no.such.method", {});
  assert.equal(r.error.code, -32601);
  assert.equal((await p.request("tool.invoke", { nope: 1 })).error.code, -32602);
  const before = p.frames.length;
  p.notify("some.notification", { x: 1 });
  await p.request("no.such.method", {});
  assert.equal(p.frames.length, before + 1, "only the request got a reply");
});

test("sdk - a non-JSON line and an over-1-MiB line are logged on stderr and the plugin keeps running", async (t) => {
  const p = await started(t);
  p.write("this is not json\n");
  p.write(`${"y".repeat(1_100_000)}\n`);
  const r = await p.request("no.such.method");
  assert.equal(r.error.code, -32601);
  assert.match(p.stderr, /plugin: malformed jsonrpc line: .*not valid JSON/);
  assert.match(p.stderr, /plugin: inbound frame 1100000 bytes exceeds maxFrameBytes 1048576/);
  assert.ok(!p.frames.some((f) => f.id === null), "a bad line is logged and dropped, never answered");
});

test("sdk - tool.invoke: result, each typed error code, plain throw is -33403, no handler is -32601", async (t) => {
  const p = await started(t);
  const ok = await p.request("tool.invoke", { plugin_id: "sink", tool_name: "add", args: { a: 2, b: 3 }, agent_id: null });
  assert.deepEqual(ok.result, { content: [{ type: "text", text: "5" }], is_error: false });
  const codes: Record<string, number> = { not_found: -33401, invalid: -33402, failed: -33403, unavailable: -33404, denied: -33405, crash: -33403 };
  for (const [how, code] of Object.entries(codes)) {
    const r = await p.request("tool.invoke", { plugin_id: "sink", tool_name: "fail", args: { how }, agent_id: null });
    assert.equal(r.error.code, code, how);
  }
  const un = await p.request("tool.invoke", { plugin_id: "sink", tool_name: "fail", args: { how: "unavailable" }, agent_id: null });
  assert.deepEqual(un.error.data, { retry_after_ms: 250 });
  const inv = await p.request("tool.invoke", { plugin_id: "sink", tool_name: "fail", args: { how: "invalid" }, agent_id: null });
  assert.deepEqual(inv.error.data, { details: [{ path: "/a", message: "required" }] });
  const q = PluginProcess.start(t, "kitchen-sink.ts", ["no-tools"]);
  await q.request("initialize", {});
  assert.equal((await q.request("tool.invoke", { plugin_id: "sink", tool_name: "add", args: {}, agent_id: null })).error.code, -32601);
});

test("sdk - host calls: memory.recall and llm.complete succeed, fail and time out; streaming deltas arrive first", async (t) => {
  const p = await started(t);
  const call = (args: unknown) => p.request("tool.invoke", { plugin_id: "sink", tool_name: "host", args, agent_id: null }, 15_000);

  const recallP = call({ call: "recall", query: "cats" });
  const req = await p.waitFor((f) => f.method === "memory.recall", "memory.recall request");
  assert.deepEqual(req.params, { agent_id: "a1", query: "cats", limit: 10 });
  p.send({ jsonrpc: "2.0", id: req.id, result: { entries: [{ id: "m1", content: "cats purr" }] } });
  assert.deepEqual((await recallP).result, { entries: [{ id: "m1", content: "cats purr" }] });

  const errP = call({ call: "complete" });
  const req2 = await p.waitFor((f) => f.method === "llm.complete", "llm.complete request");
  assert.equal(req2.params.max_tokens, 4096);
  assert.equal(req2.params.temperature, 0.7);
  p.send({ jsonrpc: "2.0", id: req2.id, error: { code: -32603, message: "llm not configured" } });
  const err = await errP;
  assert.equal(err.error.code, -33403);
  assert.match(err.error.message, /llm not configured/);

  const timeoutP = call({ call: "complete", timeout_ms: 200 });
  const tr = await timeoutP;
  assert.match(tr.error.message, /no host reply within 0\.2s \(llm\.complete\)/);

  const streamP = call({ call: "stream" });
  const req3 = await p.waitFor((f) => f.method === "llm.complete" && f.params.stream === true, "streaming request");
  for (const chunk of ["Hel", "lo"]) p.notify("llm.complete.delta", { request_id: req3.id, chunk });
  p.send({ jsonrpc: "2.0", id: req3.id, result: { finish_reason: "stop", usage: { output_tokens: 2 } } });
  assert.deepEqual((await streamP).result, {
    chunks: ["Hel", "lo"],
    final: { content: null, finish_reason: "stop", usage: { output_tokens: 2, prompt_tokens: 0, completion_tokens: 0 } },
  });
});

test("sdk - llmCompleteChunks: the chunks as an async iterable, then the final reply; the host's error ends the iteration", async (t) => {
  const p = await started(t);
  const call = (id: string) => p.send({ jsonrpc: "2.0", id, method: "tool.invoke", params: { plugin_id: "sink", tool_name: "host", args: { call: "chunks" }, agent_id: null } });
  const seen = new Set<unknown>();
  const nextRequest = async () => {
    const req = await p.waitFor((f) => f.method === "llm.complete" && f.params.stream === true && !seen.has(f.id), "streaming request");
    seen.add(req.id);
    return req;
  };
  call("ok");
  const req = await nextRequest();
  for (const chunk of ["a", "b", "c"]) p.notify("llm.complete.delta", { request_id: req.id, chunk });
  p.send({ jsonrpc: "2.0", id: req.id, result: { finish_reason: "stop" } });
  assert.deepEqual((await p.waitFor((f) => f.id === "ok", "reply")).result, {
    chunks: ["a", "b", "c"],
    final: { content: null, finish_reason: "stop", usage: { prompt_tokens: 0, completion_tokens: 0 } },
  });

  call("err");
  const req2 = await nextRequest();
  p.notify("llm.complete.delta", { request_id: req2.id, chunk: "x" });
  p.send({ jsonrpc: "2.0", id: req2.id, error: { code: -32603, message: "llm.complete is not configured" } });
  assert.deepEqual((await p.waitFor((f) => f.id === "err", "reply")).result, { chunks: ["x"], error: "rpc error -32603: llm.complete is not configured" });
  assert.doesNotMatch(p.stderr, /Unhandled|unhandled/);
});

test("sdk - shutdown drains an in-flight handler first, runs the hook, replies, then exits 0 within 1 s", async (t) => {
  const p = await started(t);
  p.notify("broker.event", { topic: "plugin.outbound.sink", event: event("plugin.outbound.sink", { sleep_ms: 300, n: 1 }) });
  await new Promise((r) => setTimeout(r, 50));
  const r = await p.request("shutdown", { reason: "test" });
  assert.deepEqual(r.result, { ok: true });
  const replyIndex = p.frames.indexOf(r);
  const pubIndex = p.frames.findIndex((f) => f.method === "broker.publish");
  assert.ok(pubIndex !== -1 && pubIndex < replyIndex, "the in-flight handler finished before the reply");
  const replyAt = Date.now();
  const exit = await p.exited;
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - replyAt < 1000);
  assert.match(p.stderr, /shutdown hook ran/);
});

test("sdk - SIGTERM and stdin EOF both drain and exit 0", async (t) => {
  const a = await started(t);
  a.child.kill("SIGTERM");
  assert.equal((await a.exited).code, 0);
  assert.match(a.stderr, /shutdown hook ran/);
  const b = await started(t);
  b.child.stdin.end();
  assert.equal((await b.exited).code, 0);
});

test("sdk - stdout guard: console.log in plugin code goes to stderr, stdout stays pure frames", async (t) => {
  const p = await started(t);
  p.notify("broker.event", { topic: "plugin.outbound.sink", event: event("plugin.outbound.sink", { log: "hello from plugin code" }) });
  await p.waitFor(() => p.published().length === 1, "publish");
  assert.match(p.stderr, /\[stdout-guard\] hello from plugin code/);
  assert.deepEqual(p.strayStdout, [], "stdout carried only frames");
});

test("sdk - Event.new fills all six fields; uuidv7 sorts by time", async () => {
  const e = Event.new("a.b", "me", { x: 1 });
  assert.equal(e.session_id, null);
  assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const a = uuidv7();
  await new Promise((r) => setTimeout(r, 2));
  assert.ok(a < uuidv7());
});

test("sdk - exports every name the reference SDK exports, plus Nexo's own and deprecated names", async () => {
  const sdk = await import("../src/index.js");
  // Every value the reference SDK (nexo-plugin-sdk 0.3.0) exports, then Nexo's own and its deprecated names.
  const reference = [
    "PluginAdapter",
    "ToolError",
    "ToolNotFoundError",
    "ToolArgumentInvalidError",
    "ToolExecutionFailedError",
    "ToolUnavailableError",
    "ToolDeniedError",
    "toolDefToJson",
    "textResult",
    "BrokerSender",
    "Event",
    "PluginError",
    "ManifestError",
    "WireError",
    "RpcError",
    "RpcServerError",
    "RpcTimeoutError",
    "RpcTransportError",
    "RpcDecodeError",
    "DEFAULT_RPC_TIMEOUT_MS",
    "LlmStream",
    "parseMemoryEntry",
    "parseLlmCompleteResult",
    "parseManifest",
    "installStdoutGuard",
    "uninstallStdoutGuard",
    "isStdoutGuardInstalled",
    "STDOUT_GUARD_MARKER",
    "JSONRPC_VERSION",
    "MAX_FRAME_BYTES",
    "serializeFrame",
    "buildResponse",
    "buildErrorResponse",
    "VERSION",
  ];
  const nexo = [
    "stateDir",
    "replyTopic",
    "toolTopic",
    "conformanceProbe",
    "uuidv7",
    "nowIso",
    "isUuid",
    "sessionUuid",
    "wireEvent",
    "RpcErrorCodes",
    "ToolInvalidArgsError",
    "HostCallTimeoutError",
    "HostCallAbandonedError",
    "ChannelError",
    "ChannelConnectionError",
    "ChannelAuthenticationError",
    "ChannelRecipientInvalidError",
    "ChannelRateLimitedError",
    "ChannelUnsupportedError",
  ];
  for (const name of [...reference, ...nexo]) assert.ok(name in sdk, name);
  assert.equal(typeof sdk.Event.fromJson, "function");
  assert.equal(typeof sdk.Event.toJson, "function");
  assert.ok(new sdk.HostCallTimeoutError("m", 5) instanceof sdk.RpcTimeoutError, "the deprecated class is the reference one");
  assert.ok(new sdk.ToolInvalidArgsError("m") instanceof sdk.ToolArgumentInvalidError);
  assert.equal(sdk.replyTopic("plugin.tool.x.y"), "plugin.tool.x.y.reply");
  assert.equal(sdk.toolTopic("x.y"), "plugin.tool.x.y");
  assert.deepEqual(new sdk.ToolUnavailableError("busy", 5).toJSON(), { code: -33404, message: "unavailable: busy", data: { retry_after_ms: 5 } });
});

test("sdk - the constructor refuses a manifest without [plugin].id and names a bad option", async () => {
  const { PluginAdapter } = await import("../src/index.js");
  assert.throws(() => new PluginAdapter({ manifestToml: "[plugin]\nversion = '1.0.0'\n" }), /no \[plugin\]\.id/);
  assert.throws(() => new PluginAdapter({ manifestToml: "not = = toml" }), /not valid TOML/);
  assert.throws(() => new PluginAdapter({ manifestToml: "[plugin]\nid = 'x'\n", maxFrameBytes: -1 }), /maxFrameBytes must be a positive integer, got -1 \(number\)/);
});

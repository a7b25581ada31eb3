// The reference-API plugin (refapi/plugin.ts: written against the reference
// TypeScript SDK's documented API alone) under the daemon: its tools through
// app.callTool, its events through the broker, memory.recall and llm.complete
// (streamed too) against host services the test installs.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { normalizeConfig } from "../../../nexo/src/config/index.js";
import { newEvent, type Event } from "../../../nexo/src/contract/event.js";
import { Daemon } from "../../../nexo/src/daemon/index.js";
import { ErrorCodes, isNexoError, type ErrorCode, type NexoError } from "../../../nexo/src/errors.js";
import type { HostServiceContext } from "../../../nexo/src/host/types.js";
import { captureLogger } from "../../../nexo/test/helpers/log-capture.js";
import { tempDir } from "../../../nexo/test/helpers/fixture-plugins.js";
import { waitFor } from "../../../nexo/test/helpers/wait.js";

const PLUGINS = fileURLToPath(new URL(".", import.meta.url));

interface HostCall {
  method: string;
  params: Record<string, any>;
}

async function startRefApi(t: TestContext) {
  const config = normalizeConfig({ state_dir: tempDir(t), plugin_paths: [PLUGINS], api: { port: 0 }, plugins: { refapi: {} } }, null, PLUGINS);
  const cap = captureLogger();
  const daemon = await Daemon.start(config, { logger: cap.logger, controlSocket: false });
  t.after(() => daemon.stop());
  const sup = daemon.host.require("refapi");
  assert.equal(sup.status().state, "ready", JSON.stringify(cap.lines()));

  // Host services. The SDK numbers its requests 1, 2, 3...; the plugin makes no
  // request but these, so the n-th call here is request n: a streamed reply's
  // deltas name it as their request_id.
  const calls: HostCall[] = [];
  const record = (method: string, params: unknown): number => calls.push({ method, params: params as Record<string, any> });
  daemon.host.setHostService("memory.recall", async (params) => {
    record("memory.recall", params);
    const p = params as { query: string };
    if (p.query === "fail please") throw Object.assign(new Error("memory backend down"), { code: -32603 });
    if (p.query === "hang please") return new Promise(() => undefined);
    return {
      entries: [
        { id: "m1", agent_id: "a", content: `about ${p.query}`, tags: [], concept_tags: [], created_at: "2026-01-01T00:00:00Z", memory_type: "fact" },
        { id: "m2", content: "bare" },
      ],
    };
  });
  daemon.host.setHostService("llm.complete", async (params, ctx: HostServiceContext) => {
    const n = record("llm.complete", params);
    const p = params as { stream?: boolean };
    if (!p.stream) return { content: "hi there", finish_reason: "stop", usage: { prompt_tokens: 3, completion_tokens: 2 } };
    for (const chunk of ["h", "i", "!"]) ctx.notify("llm.complete.delta", { request_id: n, chunk });
    return { finish_reason: "stop", usage: { prompt_tokens: 3, completion_tokens: 3 } };
  });

  const names = new Map(daemon.app.listTools().map((x) => [x.name.replace(/^.*refapi_/, ""), x.name]));
  const call = async (tool: string, args: unknown = {}) => {
    const r = await daemon.app.callTool(names.get(tool)!, args, { agentId: "agent-7" });
    return (r.structured_content ?? JSON.parse(String((r.content[0] as { text: string }).text))) as Record<string, any>;
  };
  const stderr = () => sup.status().stderrTail.join("\n");
  return { daemon, calls, call, names, stderr };
}

test("reference api - tools: context, echo, typed errors, host errors, unserializable result, helpers; stdout guard", async (t) => {
  const { calls, call, names, stderr } = await startRefApi(t);
  assert.deepEqual([...names.keys()].sort(), ["complete", "echo", "fail", "helpers", "recall", "stream"]);

  assert.deepEqual(await call("echo", { q: 1 }), { echoed: { q: 1 }, agent: "agent-7", plugin: "refapi", ctxPlugin: "refapi" });
  await waitFor(() => stderr().includes("[stdout-guard] a stray print"), "the stray print on stderr");

  const expectTool = async (how: string, code: ErrorCode, message: RegExp) =>
    assert.rejects(call("fail", { how }), (err: unknown) => {
      assert.ok(isNexoError(err, code), `${how}: ${String(err)}`);
      assert.match((err as NexoError).message, message);
      return true;
    });
  await expectTool("not_found", ErrorCodes.TOOL_NOT_FOUND, /tool not found: refapi_fail/);
  await expectTool("argument", ErrorCodes.TOOL_INVALID_ARGS, /invalid argument: q must be short/);
  await expectTool("execution", ErrorCodes.TOOL_EXECUTION_FAILED, /execution failed: downstream 500/);
  await expectTool("unavailable", ErrorCodes.TOOL_UNAVAILABLE, /unavailable: rate limited/);
  await expectTool("denied", ErrorCodes.TOOL_DENIED, /denied: tenant blocked/);
  await expectTool("generic", ErrorCodes.TOOL_EXECUTION_FAILED, /plain failure/);
  await expectTool("unserializable", ErrorCodes.TOOL_EXECUTION_FAILED, /not JSON-serializable/);

  assert.deepEqual(await call("fail", { how: "server" }), { kind: "RpcServerError", code: -32603, rpc: true, plugin: true });
  assert.deepEqual(await call("fail", { how: "timeout" }), { kind: "RpcTimeoutError", seconds: 0.3, rpc: true });

  const h = await call("helpers");
  assert.deepEqual(h.frames, [
    '{"jsonrpc":"2.0","id":7,"method":"x"}\n',
    '{"jsonrpc":"2.0","method":"y"}\n',
    '{"jsonrpc":"2.0","id":7,"result":{"ok":true}}\n',
    '{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"method not found"}}\n',
  ]);
  assert.deepEqual(h.standalone, [{ standalone: true }]);
  assert.equal(h.jsonrpc, "2.0");
  assert.equal(h.maxFrameBytes, 1_048_576);
  assert.equal(h.defaultTimeoutMs, 30_000);
  assert.equal(h.version, "0.3.0");
  assert.deepEqual(h.toolDef, { name: "refapi_x", description: "d", input_schema: {} });
  assert.deepEqual(h.entry, { id: "m9", agent_id: "", content: "c", tags: [], concept_tags: [], created_at: "", memory_type: null });
  assert.deepEqual(h.usage, { prompt_tokens: 0, completion_tokens: 0 });
  assert.deepEqual(h.manifestError, { name: "ManifestError", field: "plugin.id", plugin: true });
  assert.equal(h.wireError, true);
  assert.equal(h.decodeError, true);
  assert.equal(h.toolErrorCode, -33403);
  assert.deepEqual(h.roundTrip, { topic: "t.x", source: "refapi", payload: { n: 1 } });
  assert.deepEqual(h.guard, { installed: true, marker: "[stdout-guard]" });
  assert.ok(
    calls.every((c) => c.method === "memory.recall"),
    "only the two failing recalls so far",
  );
});

test("reference api - memoryRecall resolves the entries; llmComplete sends no stream flag; llmCompleteStream yields the chunks, then the final result", async (t) => {
  const { calls, call } = await startRefApi(t);
  assert.deepEqual(await call("recall", { q: "cats" }), { contents: ["about cats", "bare"], types: ["fact", null] });
  assert.deepEqual(calls[0], { method: "memory.recall", params: { agent_id: "agent-7", query: "cats", limit: 3 } });

  assert.deepEqual(await call("complete"), { content: "hi there", finish_reason: "stop", usage: { prompt_tokens: 3, completion_tokens: 2 } });
  assert.deepEqual(calls[1].params, {
    provider: "fake",
    model: "m1",
    messages: [{ role: "user", content: "say hi" }],
    max_tokens: 64,
    temperature: 0.7,
    system_prompt: "be brief",
  });
  assert.equal("stream" in calls[1].params, false, "a non-streamed llm.complete carries no stream member");

  assert.deepEqual(await call("stream"), { chunks: ["h", "i", "!"], content: null, finish_reason: "stop", usage: { prompt_tokens: 3, completion_tokens: 3 } });
  assert.equal(calls[2].params.stream, true);
});

test("reference api - events: onEvent gets each broker event; a reply published without correlation_id carries the event's id; host calls from a handler", async (t) => {
  const { daemon, calls } = await startRefApi(t);
  const seen: Event[] = [];
  const sub = daemon.broker.subscribe("plugin.inbound.refapi", (e) => void seen.push(e));
  t.after(() => sub.unsubscribe());
  const sent = [newEvent("plugin.outbound.refapi", "test", { n: 1 }), newEvent("plugin.outbound.refapi", "test", { op: "recall", q: "dogs" })];
  for (const e of sent) await daemon.broker.publish("plugin.outbound.refapi", e);
  await waitFor(() => seen.length === 2, "two replies", 15_000);
  const byCorrelation = new Map(seen.map((e) => [e.correlation_id, e]));
  assert.deepEqual(byCorrelation.get(sent[0].id)?.payload, { seen: { n: 1 }, from: "plugin.outbound.refapi" });
  assert.deepEqual(byCorrelation.get(sent[1].id)?.payload, { recalled: ["about dogs", "bare"] });
  assert.equal(byCorrelation.get(sent[0].id)?.source, "refapi");
  assert.deepEqual(calls[0].params, { agent_id: "agent-ev", query: "dogs", limit: 3 });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CONFORMANCE_PROBE_ENV,
  CONFORMANCE_PROBE_TOOL,
  conformanceProbe,
  HostCallAbandonedError,
  HostCallTimeoutError,
  RpcServerError,
  ToolInvalidArgsError,
  ToolNotFoundError,
  ToolUnavailableError,
  type ToolContext,
  type ToolDef,
} from "../src/index.js";
import { runProbe } from "../src/conformance-probe.js";
import { HostCalls } from "../src/host-calls.js";

const mine: ToolDef = { name: "lookup", description: "mine", input_schema: { type: "object" } };
const inv = (tool_name: string, args: Record<string, unknown>) => ({ pluginId: "p", toolName: tool_name, args, plugin_id: "p", tool_name, agent_id: null });

test("sdk probe - conformanceProbe adds the probe tool only under the runner and routes other names to your handler", async () => {
  const onTool = async () => "mine";
  const own = { tools: [mine], onTool };
  assert.equal(conformanceProbe(own, {}), own, "outside the runner: your options, unchanged");
  assert.deepEqual(conformanceProbe({}, { [CONFORMANCE_PROBE_ENV]: "0" }), {});
  const under = conformanceProbe(own, { [CONFORMANCE_PROBE_ENV]: "1" });
  assert.deepEqual(
    under.tools!.map((t) => t.name),
    ["lookup", CONFORMANCE_PROBE_TOOL],
  );
  const ctx = {} as ToolContext;
  assert.equal(await under.onTool!(inv("lookup", {}), ctx), "mine");
  assert.deepEqual(await under.onTool!(inv(CONFORMANCE_PROBE_TOOL, { action: "echo", text: "t" }), ctx), { content: [{ type: "text", text: "t" }], is_error: false });
  const bare = conformanceProbe({}, { [CONFORMANCE_PROBE_ENV]: "1" });
  await assert.rejects(async () => bare.onTool!(inv("other", {}), ctx), ToolNotFoundError);
});

test("sdk probe - bad probe arguments are -33402 with details; fail raises the typed error asked for", async () => {
  const ctx = {} as ToolContext;
  for (const args of [{}, { action: "echo" }, { action: "nope" }, { action: "fail", code: 7 }]) {
    await assert.rejects(runProbe(args, ctx), (e: unknown) => e instanceof ToolInvalidArgsError && e.code === -33402 && Array.isArray((e.data as { details: unknown[] }).details));
  }
  await assert.rejects(
    runProbe({ action: "fail", code: -33404 }, ctx),
    (e: unknown) => e instanceof ToolUnavailableError && (e.data as { retry_after_ms: number }).retry_after_ms === 250,
  );
});

test("sdk probe - host-call outcomes: result, the host's error code and message, timeout, anything else", async () => {
  const outcomeOf = (failure: unknown) =>
    runProbe({ action: "memory_recall", agent_id: "a", query: "q", timeout_ms: 5 }, {
      broker: { memoryRecall: async () => (failure === undefined ? { entries: [] } : Promise.reject(failure)) },
    } as unknown as ToolContext);
  assert.deepEqual(await outcomeOf(undefined), { ok: true, result: { entries: [] } });
  assert.deepEqual(await outcomeOf(new RpcServerError(-32603, "not configured")), { ok: false, error: { code: -32603, message: "not configured" } });
  assert.deepEqual(await outcomeOf(new HostCallTimeoutError("memory.recall", 5)), { ok: false, timeout: true });
  assert.deepEqual(await outcomeOf(new HostCallAbandonedError("memory.recall", "shutting down")), { ok: false, error: { message: "memory.recall abandoned: shutting down" } });
});

test("sdk host calls - a deadline rejects with HostCallTimeoutError, shutdown with HostCallAbandonedError", async () => {
  const sent: unknown[] = [];
  const calls = new HostCalls(async (f) => void sent.push(f), 30_000);
  await assert.rejects(calls.request("llm.complete", {}, 10), (e: unknown) => e instanceof HostCallTimeoutError && e.method === "llm.complete" && e.timeoutMs === 10);
  const pending = calls.request("memory.recall", {});
  calls.close("plugin is shutting down");
  await assert.rejects(pending, (e: unknown) => e instanceof HostCallAbandonedError && e.method === "memory.recall");
  await assert.rejects(calls.request("memory.recall", {}), HostCallAbandonedError, "no new calls after close");
  assert.equal(sent.length, 2);
});

// An LLM provider plugin and a memory backend plugin (test/fixtures/plugins/agentkit-plugin.mjs,
// a real child written with the TS SDK) reached through app.llm and app.memory.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { RpcError, RpcErrorCodes } from "../../src/contract/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { loadManifest } from "../../src/manifest/index.js";
import type { LlmTextDelta } from "../../src/llm/index.js";
import { testApp } from "../helpers/app.js";
import { agentkitManifest } from "../helpers/agentkit.js";
import { tempDir } from "../helpers/fixture-plugins.js";

async function startWithPlugin(t: TestContext, options: Parameters<typeof testApp>[1] = {}) {
  const { app, logs } = testApp(t, options);
  app.host.add({ manifest: await agentkitManifest(tempDir(t)) });
  await app.start();
  return { app, logs };
}

test("llm provider plugin - app.llm.complete, streamed and plain, and a tool-calling chat go to the plugin over llm.chat", async (t) => {
  const { app } = await startWithPlugin(t);
  assert.deepEqual(app.llm.list(), ["scripted"]);
  const plain = await app.llm.complete({ messages: [{ role: "user", content: "hello" }], system_prompt: "be brief" });
  assert.equal(plain.content, "plugin echo: hello [system: be brief]");
  assert.equal(plain.finish_reason, "stop");
  assert.deepEqual(plain.usage, { input_tokens: 5, output_tokens: 4 });

  const chunks: LlmTextDelta[] = [];
  const streamed = await app.llm.complete({ provider: "scripted", model: "m1", messages: [{ role: "user", content: "stream me" }] }, { onDelta: (c) => chunks.push(c) });
  assert.equal(streamed.content, "plugin echo: stream me");
  assert.equal(chunks.map((c) => c.text).join(""), "plugin echo: stream me");
  assert.ok(chunks.length > 3, "the text came in several llm.chat.delta chunks");

  const tools = [{ name: "lookup", description: "look up", parameters: { type: "object", properties: { q: { type: "string" } } } }];
  const call = await app.llm.chat({ messages: [{ role: "user", content: 'CALL lookup {"q":"x"}' }], tools });
  assert.deepEqual(call.content, { type: "tool_calls", tool_calls: [{ id: "call_1", name: "lookup", arguments: { q: "x" } }] });
  assert.deepEqual(call.finish_reason, { kind: "tool_use" });
  const done = await app.llm.chat({
    messages: [
      { role: "user", content: 'CALL lookup {"q":"x"}' },
      { role: "assistant", content: "", tool_calls: [{ id: "call_1", name: "lookup", arguments: { q: "x" } }] },
      { role: "tool", tool_call_id: "call_1", name: "lookup", content: "42" },
    ],
    tools,
  });
  assert.deepEqual(done.content, { type: "text", text: "done: 42" });
});

test("llm provider plugin - a -331xx error from the plugin reaches the caller with its code and data", async (t) => {
  const { app } = await startWithPlugin(t);
  const err = await app.llm.complete({ messages: [{ role: "user", content: "FAIL -33104" }] }).then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError);
  assert.equal(err.code, RpcErrorCodes.LLM_RATE_LIMITED);
  assert.deepEqual(err.data, { retry_after_ms: 1500 });
});

test("llm provider plugin - a name a configured provider already has refuses the plugin with NEXO_ERR_LLM_PROVIDER_CONFLICT", async (t) => {
  const { app } = testApp(t, { llm: { providers: { scripted: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", model: "m" } } } });
  const manifest = await agentkitManifest(tempDir(t));
  assert.throws(
    () => app.host.add({ manifest }),
    (e: { code?: string; message: string }) => e.code === ErrorCodes.LLM_PROVIDER_CONFLICT && /llm\.providers/.test(e.message),
  );
  assert.equal(app.host.list().length, 0);
  assert.equal(app.llm.get("scripted")?.kind, "openai");
});

test("memory backend plugin - memory.backend routes app.memory and the plugins' memory.recall to memory.vector_* on the plugin", async (t) => {
  const { app } = await startWithPlugin(t, { memoryBackend: "wordmem" });
  assert.deepEqual(app.memory.listBackends(), ["wordmem"]);
  const a = await app.memory.remember({ agent_id: "ada", content: "the customer prefers email over phone", tags: ["contact"] });
  await app.memory.remember({ agent_id: "ada", content: "invoice in_77 was paid late" });
  await app.memory.remember({ agent_id: "bob", content: "bob also prefers email" });
  const hits = await app.memory.recall({ agent_id: "ada", query: "email preference", limit: 5 });
  assert.deepEqual(
    hits.map((h) => h.id),
    [a.id],
  );
  assert.deepEqual(hits[0], a, "the entry comes back as it was written: tags, created_at and type from metadata");
  // The embedded store is still there by name, and it holds none of these.
  assert.deepEqual(await app.memory.recall({ agent_id: "ada", query: "email" }, "embedded"), []);
  assert.equal(await app.memory.forget("ada", a.id), true);
  assert.deepEqual(await app.memory.recall({ agent_id: "ada", query: "email" }), []);
  await assert.rejects(app.memory.recall({ agent_id: "ada", query: "x" }, "nowhere"), (e: { code?: string }) => e.code === ErrorCodes.MEMORY_BACKEND_UNAVAILABLE);
});

const EXAMPLES = fileURLToPath(new URL("../../../../examples", import.meta.url));
const PY_PROVIDER = fileURLToPath(new URL("../fixtures/plugins/py-llm-provider.py", import.meta.url));

/** The echo-ts example with its conformance probe tool on (it calls llm.complete on request), and the Python provider plugin. */
async function pythonProviderAndProbe(t: TestContext) {
  const root = tempDir(t);
  const py = join(root, "pyllm");
  mkdirSync(py, { recursive: true });
  writeFileSync(
    join(py, "nexo-plugin.toml"),
    `[plugin]\nid = "pyllm"\nversion = "0.1.0"\n\n[plugin.entrypoint]\ncommand = "python3"\nargs = [${JSON.stringify(PY_PROVIDER)}]\n\n[plugin.extends]\nllm_providers = ["pyscripted"]\n`,
  );
  const echo = join(root, "echo-ts");
  mkdirSync(echo, { recursive: true });
  const toml = readFileSync(join(EXAMPLES, "echo-ts", "nexo-plugin.toml"), "utf8").replace(
    /\[plugin\.entrypoint\]\ncommand = .*\nargs = .*\n/,
    `[plugin.entrypoint]\ncommand = "env"\nargs = ${JSON.stringify(["NEXO_CONFORMANCE_PROBE=1", process.execPath, join(EXAMPLES, "echo-ts", "dist", "main.js")])}\n`,
  );
  writeFileSync(join(echo, "nexo-plugin.toml"), `${toml}\n[plugin.extends]\ntools = ["conformance_probe"]\n`);
  const { app } = testApp(t);
  app.host.add({ manifest: await loadManifest(py) });
  app.host.add({ manifest: await loadManifest(echo) });
  await app.start();
  const tool = app.listTools().find((x) => x.pluginTool === "conformance_probe");
  assert.ok(tool, "the echo plugin serves the probe");
  const probe = async (args: Record<string, unknown>): Promise<Record<string, any>> => {
    const r = await app.callTool(tool.name, args, { timeoutMs: 30_000 });
    assert.equal(r.is_error, false, JSON.stringify(r));
    return (r.structured_content ?? JSON.parse(String((r.content[0] as { text: string }).text))) as Record<string, any>;
  };
  return { app, probe };
}

test("llm provider plugin - a Python SDK provider serves app.llm.chat with tool calls and a TS plugin's streamed llm.complete", async (t) => {
  const { app, probe } = await pythonProviderAndProbe(t);
  const tools = [{ name: "lookup", description: "look up", parameters: { type: "object" } }];
  const call = await app.llm.chat({ provider: "pyscripted", messages: [{ role: "user", content: 'CALL lookup {"q":1}' }], tools });
  assert.deepEqual(call.content, { type: "tool_calls", tool_calls: [{ id: "py_call_1", name: "lookup", arguments: { q: 1 } }] });

  // The TS plugin asks the host for llm.complete (streamed); the host asks the Python plugin for llm.chat (streamed).
  const streamed = await probe({ action: "llm_complete", provider: "pyscripted", stream: true, messages: [{ role: "user", content: "hi from ts" }] });
  assert.equal(streamed.ok, true, JSON.stringify(streamed));
  assert.deepEqual(
    streamed.chunks.map((c: { type: string; text: string }) => c.text),
    ["pyth", "on e", "cho:", " hi ", "from", " ts"],
  );
  assert.ok(streamed.chunks.every((c: { type: string }) => c.type === "text_delta"));
  assert.equal(streamed.result.finish_reason, "stop");
  const plain = await probe({ action: "llm_complete", provider: "pyscripted", messages: [{ role: "user", content: "plain" }] });
  assert.equal(plain.result.content, "python echo: plain");
  const failed = await probe({ action: "llm_complete", provider: "pyscripted", messages: [{ role: "user", content: "FAIL -33102" }] });
  assert.equal(failed.ok, false);
  assert.equal(failed.error.code, RpcErrorCodes.LLM_AUTHENTICATION);
});

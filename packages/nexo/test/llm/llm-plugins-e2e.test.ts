// LLM providers and memory as plugins reach them: nexo.yaml -> real daemon -> real
// Python and TS plugin children (the echo examples with their conformance probe
// tool) -> llm.complete / memory.recall -> the fake providers on loopback.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { normalizeConfig } from "../../src/config/index.js";
import { RpcErrorCodes } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import type { ToolResult } from "../../src/app/index.js";
import { pieces, startFakeLlm, type FakeLlm } from "../helpers/fake-llm.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples", import.meta.url));
const KEY = "sk-e2e-TOPSECRET-9876";

/**
 * A copy of an example's manifest whose entrypoint runs the example with the
 * conformance probe switched on (NEXO_* variables are the host's, so nexo.yaml cannot set it).
 */
function probePlugin(root: string, example: string, command: string[]): string {
  const dir = join(root, example);
  mkdirSync(dir, { recursive: true });
  const toml = readFileSync(join(EXAMPLES, example, "nexo-plugin.toml"), "utf8").replace(
    /\[plugin\.entrypoint\]\ncommand = .*\nargs = .*\n/,
    `[plugin.entrypoint]\ncommand = "env"\nargs = ${JSON.stringify(["NEXO_CONFORMANCE_PROBE=1", ...command])}\n`,
  );
  assert.match(toml, /NEXO_CONFORMANCE_PROBE/);
  assert.doesNotMatch(toml, /\[plugin\.extends\]/);
  writeFileSync(join(dir, "nexo-plugin.toml"), `${toml}\n[plugin.extends]\ntools = ["conformance_probe"]\n`);
  return dir;
}

async function startDaemon(t: TestContext, fake: FakeLlm) {
  process.env.NEXO_TEST_LLM_KEY = KEY;
  t.after(() => delete process.env.NEXO_TEST_LLM_KEY);
  const dir = tempDir(t);
  probePlugin(join(dir, "plugins"), "echo-ts", [process.execPath, join(EXAMPLES, "echo-ts", "dist", "main.js")]);
  probePlugin(join(dir, "plugins"), "echo-python", ["python3", join(EXAMPLES, "echo-python", "main.py")]);
  const config = normalizeConfig(
    {
      state_dir: join(dir, "state"),
      plugin_paths: [join(dir, "plugins")],
      plugins: { echo: {}, echo_py: {} },
      api: { enabled: false },
      llm: {
        default: "oai",
        providers: {
          oai: { kind: "openai", base_url: `${fake.url}/v1`, model: "gpt-fake", api_key_env: "NEXO_TEST_LLM_KEY", max_retries: 0 },
          claude: { kind: "anthropic", base_url: fake.url, model: "claude-fake", api_key_env: "NEXO_TEST_LLM_KEY", timeout_ms: 20_000, max_retries: 0 },
        },
      },
      memory: { remember_tool: true },
    },
    join(dir, "nexo.yaml"),
    dir,
  );
  const cap = captureLogger("debug");
  const daemon = await Daemon.start(config, { logger: cap.logger, controlSocket: false });
  t.after(() => daemon.stop());
  await waitFor(() => daemon.host.get("echo")?.currentState === "ready" && daemon.host.get("echo_py")?.currentState === "ready", "both plugins ready", 30_000);
  const probe = (plugin: string) => {
    const tool = daemon.app.listTools().find((x) => x.plugin === plugin && x.pluginTool === "conformance_probe");
    assert.ok(tool, `${plugin} serves the probe tool`);
    return async (args: Record<string, unknown>): Promise<Record<string, any>> => {
      const r: ToolResult = await daemon.app.callTool(tool.name, args, { timeoutMs: 30_000 });
      assert.equal(r.is_error, false, JSON.stringify(r));
      return (r.structured_content ?? JSON.parse(String(r.content[0]?.text))) as Record<string, any>;
    };
  };
  return { daemon, logs: cap.lines, py: probe("echo_py"), ts: probe("echo") };
}

test("llm plugins e2e - a Python plugin's llm_complete and a TS plugin's llmCompleteStream get the fake providers' answers through the daemon", async (t) => {
  const fake = await startFakeLlm(t);
  const { py, ts, logs } = await startDaemon(t, fake);
  const messages = [{ role: "user", content: "what is nexo?" }];

  const plain = await py({ action: "llm_complete", messages, system_prompt: "be brief" });
  assert.equal(plain.ok, true, JSON.stringify(plain));
  assert.equal(plain.result.content, "echo: what is nexo?");
  assert.equal(plain.result.finish_reason, "stop");
  assert.equal(fake.requests[0]!.path, "/v1/chat/completions", "the default provider (oai)");

  const streamed = await ts({ action: "llm_complete", provider: "claude", stream: true, messages });
  assert.equal(streamed.ok, true, JSON.stringify(streamed));
  assert.deepEqual(
    streamed.chunks,
    pieces("echo: what is nexo?").map((text) => ({ type: "text_delta", text })),
    "every delta reached the plugin, in order",
  );
  assert.equal(streamed.result.content, undefined, "a streamed reply carries no content");
  assert.equal(streamed.result.finish_reason, "stop");
  assert.ok(streamed.result.usage.output_tokens > 0);
  assert.equal(fake.requests[1]!.path, "/v1/messages");
  assert.equal(fake.requests[1]!.body.stream, true);

  const pyStream = await py({ action: "llm_complete", stream: true, messages });
  assert.equal(pyStream.ok, true, JSON.stringify(pyStream));
  assert.deepEqual(pyStream.chunks.map((c: { text: string }) => c.text).join(""), "echo: what is nexo?");

  // A 401 from the provider reaches the plugin as -33102.
  fake.fail({ status: 401, body: { error: { type: "authentication_error", message: "bad key" } } });
  const denied = await py({ action: "llm_complete", messages });
  assert.equal(denied.ok, false);
  assert.equal(denied.error.code, RpcErrorCodes.LLM_AUTHENTICATION);
  fake.fail({ status: 429, headers: { "retry-after": "3" } });
  const limited = await ts({ action: "llm_complete", provider: "claude", messages });
  assert.equal(limited.error.code, RpcErrorCodes.LLM_RATE_LIMITED);

  assert.ok(
    fake.requests.every((r) => JSON.stringify(r.headers).includes(KEY)),
    "the key from api_key_env was sent",
  );
  const text = JSON.stringify(logs());
  assert.match(text, /LLM provider configured/);
  assert.ok(!text.includes(KEY) && !text.includes("TOPSECRET"), "the API key appears in the daemon's logs");
});

test("llm plugins e2e - memory_remember writes, a plugin's memory.recall finds by relevance within its agent and limit, bad limits are -32602", async (t) => {
  const fake = await startFakeLlm(t);
  const { daemon, py, ts } = await startDaemon(t, fake);
  const remember = (args: Record<string, unknown>) => daemon.app.callTool("memory_remember", args);
  await remember({ agent_id: "ana", content: "Ana's favourite colour is green", tags: ["preferences"] });
  await remember({ agent_id: "ana", content: "Ana lives in Lisbon" });
  await remember({ agent_id: "ana", content: "the colour of the office walls is white, a colour Ana dislikes", concept_tags: ["office"] });
  await remember({ agent_id: "bob", content: "Bob's favourite colour is red" });
  await assert.rejects(remember({ agent_id: "ana" }), /content is required/);

  const found = await py({ action: "memory_recall", agent_id: "ana", query: "favourite colour", limit: 10 });
  assert.equal(found.ok, true, JSON.stringify(found));
  const contents = found.result.entries.map((e: { content: string }) => e.content);
  assert.deepEqual(contents, ["Ana's favourite colour is green", "the colour of the office walls is white, a colour Ana dislikes"]);
  const first = found.result.entries[0];
  assert.deepEqual(Object.keys(first).sort(), ["agent_id", "concept_tags", "content", "created_at", "id", "memory_type", "tags"]);
  assert.equal(first.agent_id, "ana");
  assert.deepEqual(first.tags, ["preferences"]);
  assert.equal(first.memory_type, "note");
  assert.ok(!Number.isNaN(Date.parse(first.created_at)));

  const one = await ts({ action: "memory_recall", agent_id: "ana", query: "colour", limit: 1 });
  assert.equal(one.result.entries.length, 1);
  const bob = await ts({ action: "memory_recall", agent_id: "bob", query: "colour green" });
  assert.deepEqual(
    bob.result.entries.map((e: { content: string }) => e.content),
    ["Bob's favourite colour is red"],
  );
  const tagged = await py({ action: "memory_recall", agent_id: "ana", query: "office" });
  assert.equal(tagged.result.entries.length, 1, "concept tags are searched");

  for (const limit of [0, 1001]) {
    const r = await py({ action: "memory_recall", agent_id: "ana", query: "colour", limit });
    assert.equal(r.ok, false);
    assert.equal(r.error.code, RpcErrorCodes.INVALID_PARAMS);
  }
});

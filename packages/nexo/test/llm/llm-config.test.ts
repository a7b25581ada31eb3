import assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeConfig } from "../../src/config/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import type { LlmTextDelta } from "../../src/llm/index.js";
import { testApp } from "../helpers/app.js";
import { pieces, startFakeLlm } from "../helpers/fake-llm.js";

const load = (raw: Record<string, unknown>) => normalizeConfig(raw, "/cfg/nexo.yaml", "/cfg");

test("llm config - llm.providers and memory in nexo.yaml become the app's options; absent means none", () => {
  const c = load({
    llm: {
      default: "claude",
      providers: {
        local: { kind: "openai", base_url: "http://127.0.0.1:11434/v1", model: "llama3.2", timeout_ms: 5000, max_retries: 0 },
        claude: { kind: "anthropic", model: "claude-x", api_key_env: "ANTHROPIC_API_KEY" },
      },
    },
    memory: { remember_tool: true },
  });
  assert.deepEqual(c.llm, {
    default: "claude",
    providers: {
      local: { kind: "openai", baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2", timeoutMs: 5000, maxRetries: 0 },
      claude: { kind: "anthropic", model: "claude-x", apiKeyEnv: "ANTHROPIC_API_KEY" },
    },
  });
  assert.deepEqual(c.memory, { rememberTool: true });
  const empty = load({});
  assert.deepEqual(empty.llm, { providers: {} });
  assert.deepEqual(empty.memory, { rememberTool: false });
});

test("llm config - a key written in the file, an unknown kind or a bad env name is refused with the path", () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ kind: "openai", api_key: "sk-live-123" }, /\/llm\/providers\/p\/api_key: is not allowed/],
    [{ kind: "gemini" }, /\/llm\/providers\/p\/kind/],
    [{ kind: "openai", api_key_env: "sk-live-123" }, /\/llm\/providers\/p\/api_key_env/],
    [{ kind: "openai", base_url: "ftp://x" }, /\/llm\/providers\/p\/base_url/],
    [{ kind: "openai", max_retries: 11 }, /\/llm\/providers\/p\/max_retries/],
    [{ model: "m" }, /\/llm\/providers\/p\/kind: is required/],
  ];
  for (const [p, msg] of bad) {
    assert.throws(
      () => load({ llm: { providers: { p } } }),
      (e: unknown) => isNexoError(e, ErrorCodes.CONFIG_INVALID) && msg.test(e.message) && !e.message.includes("sk-live-123"),
      JSON.stringify(p),
    );
  }
});

test("llm config - app.llm.complete streams to a workflow from the configured provider; an app without providers has none configured", async (t) => {
  const fake = await startFakeLlm(t);
  const { app } = testApp(t, { llm: { providers: { oai: { kind: "openai", baseUrl: `${fake.url}/v1`, model: "m" } } } });
  app.register("ask", async (inputs, ctx) => {
    const chunks: LlmTextDelta[] = [];
    const r = await ctx.app.llm.complete({ messages: [{ role: "user", content: String(inputs.q) }] }, { onDelta: (c) => chunks.push(c) });
    return { content: r.content, chunks: chunks.map((c) => c.text) };
  });
  await app.start();
  const out = (await app.executeWorkflow("ask", { q: "hello there" })) as { content: string; chunks: string[] };
  assert.equal(out.content, "echo: hello there");
  assert.deepEqual(out.chunks, pieces("echo: hello there"));
  assert.deepEqual(app.llm.list(), ["oai"]);
  assert.equal(
    app.listTools().some((x) => x.name === "memory_remember"),
    false,
    "the write tool is opt-in",
  );
  const { app: bare } = testApp(t);
  assert.equal(bare.llm.configured, false);
});

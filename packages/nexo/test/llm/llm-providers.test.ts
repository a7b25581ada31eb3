import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { RpcError, RpcErrorCodes } from "../../src/contract/index.js";
import { LlmService, type LlmConfig, type LlmTextDelta } from "../../src/llm/index.js";
import { fakeAnswer, pieces, startFakeLlm, type FakeLlm } from "../helpers/fake-llm.js";
import { captureLogger } from "../helpers/log-capture.js";

const KEY = "sk-test-SECRET-4242";
const ENV = { FAKE_LLM_KEY: KEY };

function service(fake: FakeLlm, overrides: Partial<LlmConfig["providers"][string]> = {}) {
  const cap = captureLogger();
  const config: LlmConfig = {
    providers: {
      oai: { kind: "openai", baseUrl: `${fake.url}/v1`, model: "gpt-fake", apiKeyEnv: "FAKE_LLM_KEY", maxRetries: 2, timeoutMs: 10_000, ...overrides },
      claude: { kind: "anthropic", baseUrl: fake.url, model: "claude-fake", apiKeyEnv: "FAKE_LLM_KEY", maxRetries: 2, timeoutMs: 10_000, ...overrides },
    },
  };
  return { llm: new LlmService(config, cap.logger, ENV), logs: cap.lines };
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
  return err;
}

const messages = [{ role: "user" as const, content: "favourite colour?" }];

for (const provider of ["oai", "claude"] as const) {
  test(`llm providers - ${provider} answers plain and streamed over SSE with the key from its env variable`, async (t: TestContext) => {
    const fake = await startFakeLlm(t);
    const { llm } = service(fake);
    const plain = await llm.complete({ provider, messages, system_prompt: "be brief", max_tokens: 50, temperature: 0.2 });
    assert.equal(plain.content, "echo: favourite colour?");
    assert.equal(plain.finish_reason, "stop");
    assert.ok(plain.usage.input_tokens > 0 && plain.usage.output_tokens > 0);
    const chunks: LlmTextDelta[] = [];
    const streamed = await llm.complete({ provider, messages, system_prompt: "be brief" }, { onDelta: (c) => chunks.push(c) });
    assert.deepEqual(
      chunks.map((c) => c.text),
      pieces("echo: favourite colour?"),
    );
    assert.ok(chunks.every((c) => c.type === "text_delta"));
    assert.equal(streamed.content, "echo: favourite colour?");
    assert.equal(streamed.finish_reason, "stop");
    assert.equal(streamed.usage.output_tokens, chunks.length);
    assert.equal(fake.requests.length, 2);
    const [first, second] = fake.requests as [(typeof fake.requests)[0], (typeof fake.requests)[0]];
    assert.equal(first.body.stream ?? false, false);
    assert.equal(second.body.stream, true);
    assert.equal(first.body.max_tokens, 50);
    assert.equal(first.body.temperature, 0.2);
    // Defaults of the contract when the request names none.
    assert.equal(second.body.max_tokens, 4096);
    assert.equal(second.body.temperature, 0.7);
    if (provider === "oai") {
      assert.equal(first.path, "/v1/chat/completions");
      assert.equal(first.headers.authorization, `Bearer ${KEY}`);
      assert.deepEqual(first.body.messages[0], { role: "system", content: "be brief" });
      assert.equal(first.body.model, "gpt-fake");
    } else {
      assert.equal(first.path, "/v1/messages");
      // This SDK version sends the key as a bearer token; older ones as x-api-key.
      assert.ok(first.headers["x-api-key"] === KEY || first.headers.authorization === `Bearer ${KEY}`, "the key from FAKE_LLM_KEY was sent");
      assert.equal(first.body.system, "be brief");
      assert.deepEqual(first.body.messages, messages);
      assert.equal(first.body.model, "claude-fake");
    }
    assert.equal(fakeAnswer(first.body), "echo: favourite colour?");
  });

  test(`llm providers - ${provider}: a 429 with Retry-After is retried after the time the server asked`, async (t) => {
    const fake = await startFakeLlm(t);
    const { llm } = service(fake);
    fake.fail({ status: 429, headers: { "retry-after": "1" } });
    const r = await llm.complete({ provider, messages });
    assert.equal(r.content, "echo: favourite colour?");
    assert.equal(fake.requests.length, 2);
    // The SDK's own backoff would retry after at most ~0.5 s; 1 s means Retry-After was honoured.
    assert.ok(fake.requests[1]!.at - fake.requests[0]!.at >= 950, `retried after ${fake.requests[1]!.at - fake.requests[0]!.at} ms`);
  });

  test(`llm providers - ${provider}: failures map to the contract's -331xx codes and the key is never logged`, async (t) => {
    const fake = await startFakeLlm(t);
    const { llm, logs } = service(fake, { maxRetries: 0 });
    fake.fail({ status: 401, body: { error: { type: "authentication_error", message: "invalid x-api-key" } } });
    const auth = await rejection(llm.complete({ provider, messages }));
    assert.equal(auth.code, RpcErrorCodes.LLM_AUTHENTICATION);
    assert.match(auth.message, /api_key_env/);

    fake.fail({ status: 429, headers: { "retry-after": "7" } });
    const limited = await rejection(llm.complete({ provider, messages }));
    assert.equal(limited.code, RpcErrorCodes.LLM_RATE_LIMITED);
    assert.equal((limited.data as { retry_after_ms?: number }).retry_after_ms, 7000);

    fake.fail({ status: 400, body: { error: { type: "invalid_request_error", message: "model not found" } } });
    assert.equal((await rejection(llm.complete({ provider, messages }))).code, RpcErrorCodes.LLM_INVALID_REQUEST);

    fake.fail({ status: 503 });
    assert.equal((await rejection(llm.complete({ provider, messages }))).code, RpcErrorCodes.LLM_CONNECTION);
    // Each failure went to the server once: max_retries 0.
    assert.equal(fake.requests.length, 4);
    assert.ok(
      fake.requests.every((r) => JSON.stringify(r.headers).includes(KEY)),
      "the key was sent",
    );
    const text = JSON.stringify(logs());
    assert.match(text, /llm completion failed/);
    assert.ok(!text.includes(KEY), "the API key appears in the logs");
    assert.ok(!text.includes("SECRET"), "part of the API key appears in the logs");
  });
}

test("llm providers - a credential in the base URL's user info or query is not logged", async (t) => {
  const fake = await startFakeLlm(t);
  const cap = captureLogger();
  const withCreds = fake.url.replace("http://", "http://user:hunter2@") + "/v1?api-key=hunter3";
  new LlmService({ providers: { p: { kind: "openai", baseUrl: withCreds, model: "m" } } }, cap.logger);
  const text = JSON.stringify(cap.lines());
  assert.match(text, /LLM provider configured/);
  assert.ok(text.includes(`${fake.url}/v1`), text);
  assert.ok(!text.includes("hunter2") && !text.includes("hunter3"), text);
});

test("llm providers - an api_key_env named like an Object.prototype member is not set: warned, no key sent", async (t) => {
  const fake = await startFakeLlm(t);
  const cap = captureLogger();
  new LlmService({ providers: { p: { kind: "openai", baseUrl: `${fake.url}/v1`, model: "m", apiKeyEnv: "constructor" } } }, cap.logger, { ...process.env });
  assert.ok(
    cap.lines().some((l) => l.msg === "LLM provider's API key variable is not set; requests go without a key" && l.apiKeyEnv === "constructor"),
    JSON.stringify(cap.lines()),
  );
});

test("llm providers - an unreachable provider is -33101, bad params -32602, an unknown provider -32602", async (t) => {
  const fake = await startFakeLlm(t);
  const { llm } = service(fake);
  const down = new LlmService({ providers: { gone: { kind: "openai", baseUrl: "http://127.0.0.1:1/v1", model: "m", maxRetries: 0 } } }, captureLogger().logger);
  assert.equal((await rejection(down.complete({ messages }))).code, RpcErrorCodes.LLM_CONNECTION);
  assert.equal((await rejection(llm.complete({ messages: [] }))).code, RpcErrorCodes.INVALID_PARAMS);
  assert.equal((await rejection(llm.complete({ messages: [{ role: "robot", content: "x" }] as any }))).code, RpcErrorCodes.INVALID_PARAMS);
  assert.equal((await rejection(llm.complete({ messages, temperature: 5 }))).code, RpcErrorCodes.INVALID_PARAMS);
  const unknown = await rejection(llm.complete({ provider: "nope", messages }));
  assert.equal(unknown.code, RpcErrorCodes.INVALID_PARAMS);
  assert.match(unknown.message, /configured: oai, claude/);
  const none = new LlmService({ providers: {} }, captureLogger().logger);
  const notConfigured = await rejection(none.complete({ messages }));
  assert.equal(notConfigured.code, RpcErrorCodes.INTERNAL_ERROR);
  assert.match(notConfigured.message, /not configured/);
  assert.equal(fake.requests.length, 0);
});

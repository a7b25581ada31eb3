import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcError } from "../../src/contract/index.js";
import { LlmService } from "../../src/llm/index.js";
import { captureLogger } from "../helpers/log-capture.js";

test("llm - reconfigure: unchanged providers keep their client, changed and new ones get one, removed ones are gone; the default follows", async () => {
  const cap = captureLogger("info");
  const svc = new LlmService(
    { providers: { same: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", model: "m" }, edited: { kind: "anthropic", model: "a" }, dropped: { kind: "openai" } } },
    cap.logger,
    {},
  );
  const built = (): string[] =>
    cap
      .lines()
      .filter((l) => l.msg === "LLM provider configured")
      .map((l) => l.provider);
  assert.deepEqual(built(), ["same", "edited", "dropped"]);

  svc.reconfigure({
    default: "added",
    providers: {
      same: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", model: "m" },
      edited: { kind: "anthropic", model: "b" },
      added: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", model: "x", maxRetries: 0 },
    },
  });
  assert.deepEqual(built(), ["same", "edited", "dropped", "edited", "added"], "only the changed and the new provider got a client");
  assert.deepEqual(svc.list().sort(), ["added", "edited", "same"]);
  assert.deepEqual(
    cap
      .lines()
      .filter((l) => l.msg === "LLM provider removed")
      .map((l) => l.provider),
    ["dropped"],
  );
  await assert.rejects(svc.complete({ provider: "dropped", messages: [{ role: "user", content: "hi" }] }), (e: unknown) => e instanceof RpcError && e.code === -32602);
  // The default is the new one: a request naming none goes to it (nothing listens on its loopback port: a connection error naming it).
  await assert.rejects(svc.complete({ messages: [{ role: "user", content: "hi" }] }), (e: unknown) => {
    assert.ok(e instanceof RpcError);
    assert.notEqual(e.code, -32602);
    assert.match(e.message, /added/);
    return true;
  });

  svc.reconfigure({ providers: {} });
  assert.equal(svc.configured, false);
  await assert.rejects(
    svc.complete({ messages: [{ role: "user", content: "hi" }] }),
    (e: unknown) => e instanceof RpcError && e.code === -32603 && /not configured/.test(e.message),
  );
});

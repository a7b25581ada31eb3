import assert from "node:assert/strict";
import { test } from "node:test";
import { PluginProcess } from "./harness.js";

const chat = (content: string, stream: boolean) => ({
  provider: "p1",
  model: "m",
  stream,
  request: { model: "m", messages: [{ role: "user", content }], max_tokens: 5, temperature: 0 },
});

test("sdk llm provider - onLlmChat answers llm.chat; a streamed one sends its chunks first; errors keep their -331xx code", async (t) => {
  const p = PluginProcess.start(t, "provider-backend.ts");
  await p.request("initialize", {});
  const plain = await p.request("llm.chat", chat("hi", false));
  assert.deepEqual(plain.result, { content: { type: "text", text: "m:hi" }, usage: { prompt_tokens: 1, completion_tokens: 2 }, finish_reason: { kind: "stop" } });
  assert.equal(p.frames.filter((f) => f.method === "llm.chat.delta").length, 0, "no chunks for a plain request");
  const streamed = await p.request("llm.chat", chat("hi", true));
  const deltas = p.frames.filter((f) => f.method === "llm.chat.delta");
  assert.deepEqual(
    deltas.map((f) => f.params),
    [
      { request_id: streamed.id, chunk: { type: "text_delta", delta: "ab" } },
      { request_id: streamed.id, chunk: { type: "text_delta", delta: "cd" } },
    ],
  );
  assert.ok(p.frames.indexOf(deltas[1]!) < p.frames.indexOf(streamed), "chunks before the reply");
  assert.deepEqual((await p.request("llm.chat", chat("limit", false))).error, { code: -33104, message: "slow down", data: { retry_after_ms: 10 } });
  const boom = (await p.request("llm.chat", chat("boom", false))).error;
  assert.equal(boom.code, -33101);
  assert.match(boom.message, /vendor unreachable/);
  assert.equal((await p.request("llm.chat", { provider: "p1" })).error.code, -32602);
});

test("sdk llm provider - adapter.serve answers other host requests; a numeric code on the error is the reply's; unserved methods stay -32601", async (t) => {
  const p = PluginProcess.start(t, "provider-backend.ts");
  await p.request("initialize", {});
  const item = { id: "a", content: "likes tea", metadata: {} };
  assert.deepEqual((await p.request("memory.vector_upsert", { backend: "m1", collection: "ada", items: [item] })).result, { upserted: 1 });
  assert.deepEqual((await p.request("memory.vector_search", { backend: "m1", collection: "ada", query: "tea", limit: 5 })).result, {
    hits: [{ id: "a", content: "likes tea", metadata: {}, score: 1 }],
  });
  assert.deepEqual((await p.request("memory.vector_upsert", { items: [{ id: "b", content: "" }] })).error, { code: -33001, message: "empty content", data: { why: "empty" } });
  assert.equal((await p.request("memory.vector_delete", { ids: ["a"] })).error.code, -32601);
});

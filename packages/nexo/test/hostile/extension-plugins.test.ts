// One hostile plugin (test/fixtures/plugins/hostile-provider.mjs) serving an LLM
// provider, a memory backend and a hook, each answering what a host must not
// take as it is: endless streams, chunks for finished requests, malformed
// shapes, oversized hits, overrides aimed at other sessions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcError, RpcErrorCodes } from "../../src/contract/index.js";
import { ErrorCodes, type NexoError } from "../../src/errors.js";
import type { Nexo } from "../../src/app/index.js";
import type { LlmTextDelta } from "../../src/llm/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { hostileProviderManifest } from "../helpers/hostile-provider.js";
import { waitFor } from "../helpers/wait.js";

const MAX_ANSWER = 100_000;

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `an RpcError, got ${String(err)}`);
  return err;
}

const badFrames = (app: Nexo): number => app.host.require("evil").status().badFrames;

test("hostile - LLM provider, memory backend and hook plugins that misbehave", async (t) => {
  // Plain llm.chat deadline short enough for the "never answers" case; read when the provider is made.
  process.env.NEXO_PLUGIN_LLM_TIMEOUT_MS = "1500";
  const { app, logs } = testApp(t, { llm: { providers: {}, maxAnswerChars: MAX_ANSWER }, memoryBackend: "evilmem" });
  app.host.add({
    manifest: hostileProviderManifest(tempDir(t), { HOSTILE_DELTA_CHARS: "16384", HOSTILE_STREAM_CHARS: "2000000", HOSTILE_COUNT: "1000", HOSTILE_HITS: "8" }),
  });
  await app.start();
  delete process.env.NEXO_PLUGIN_LLM_TIMEOUT_MS;
  const say = (content: string) => ({ provider: "evil", messages: [{ role: "user" as const, content }] });

  await t.test("hostile - a provider streaming without end is cut at llm.max_answer_chars with -33103 answer_too_large", async () => {
    const chunks: LlmTextDelta[] = [];
    const err = await rejection(app.llm.complete(say("forever"), { onDelta: (c) => chunks.push(c) }));
    assert.equal(err.code, RpcErrorCodes.LLM_INVALID_REQUEST);
    assert.deepEqual(err.data, { provider: "evil", reason: "answer_too_large", max_answer_chars: MAX_ANSWER });
    const passed = chunks.reduce((n, c) => n + c.text.length, 0);
    assert.ok(passed <= MAX_ANSWER, `at most the limit reached the caller (${passed})`);
    assert.equal(app.llm.answersTooLarge, 1);
    // What it streams after the cut is dropped on arrival, counted, and logged throttled.
    await waitFor(() => badFrames(app) > 0, "the chunks after the cut to be counted", 10_000, 20);
  });

  await t.test("hostile - chunks for a finished request and for ids never asked are counted and dropped; the provider still answers", async () => {
    const before = badFrames(app);
    const r = await app.llm.complete(say("stray"));
    assert.equal(r.content, "done");
    await waitFor(() => badFrames(app) >= before + 1000, "the 1000 stray chunks to be counted", 10_000, 20);
    const lines = logs().filter((l) => l.reason === "stray_delta");
    assert.ok(lines.length >= 1 && lines.length <= 20, `stray chunks are logged throttled (${lines.length} lines)`);
    assert.equal((await app.llm.complete(say("hello"))).content, "ok: hello");
  });

  await t.test("hostile - a provider that never answers fails at its deadline with -33101", async () => {
    const err = await rejection(app.llm.complete(say("never")));
    assert.equal(err.code, RpcErrorCodes.LLM_CONNECTION);
  });

  await t.test("hostile - malformed llm.chat answers are -33103; junk usage and finish reasons are defaulted", async () => {
    for (let k = 0; k < 8; k++) {
      const err = await rejection(app.llm.chat(say(`shape ${k}`)));
      assert.equal(err.code, RpcErrorCodes.LLM_INVALID_REQUEST, `shape ${k}`);
    }
    const ok = await app.llm.chat(say("shape 8"));
    assert.deepEqual(ok.content, { type: "text", text: "fine" });
    assert.equal(ok.usage.prompt_tokens, 0);
    assert.deepEqual(ok.finish_reason, { kind: "stop" });
  });

  await t.test("hostile - a memory backend's oversized and malformed hits are cut to a memory's bounds or dropped, and counted", async () => {
    const hits = await app.memory.recall({ agent_id: "a", query: "q", limit: 5 });
    assert.equal(hits.length, 5);
    for (const h of hits) {
      assert.equal(h.content.length, 65_536);
      assert.equal(h.tags.length, 64);
      assert.equal(h.concept_tags.length, 64);
      assert.equal(h.memory_type, "note");
      assert.equal(h.created_at, new Date(0).toISOString());
    }
    const backend = app.memory.getBackend("evilmem")!;
    assert.ok(backend.stats.droppedHits >= 16, `malformed hits counted (${backend.stats.droppedHits})`);
    assert.equal(backend.stats.cutHits, 5);
    assert.ok(logs().some((l) => l.backend === "evilmem" && /not \{id, content\}/.test(String(l.msg))));
  });

  await t.test("hostile - a hook's override of session_id cannot silence another session", async () => {
    const outcome = await app.hookPoints.fire("before_outbound", { kind: "x", instance: null, session_id: "mine", body: "silence victim" });
    assert.equal(outcome.doNotReplyAgain, true);
    assert.equal(app.hookPoints.isSilenced("victim"), false);
    assert.equal(app.hookPoints.isSilenced("mine"), true);
  });

  await t.test("hostile - a hook's 600 KB block reason or error message is clipped before it reaches logs and callers", async () => {
    const blocked = await app.hookPoints.fire("before_outbound", { kind: "x", instance: null, session_id: "b", body: "block" });
    assert.equal(blocked.blocked, true);
    assert.ok(blocked.reason!.length < 1100, `reason clipped (${blocked.reason!.length})`);
    const failed = await app.hookPoints.fire("before_outbound", { kind: "x", instance: null, session_id: "f", body: "fail" });
    assert.equal(failed.blocked, false);
    const longest = Math.max(
      ...logs()
        .filter((l) => l.hook === "before_outbound")
        .map((l) => JSON.stringify(l).length),
    );
    assert.ok(longest < 4096, `hook log lines stay short (${longest} characters)`);
  });

  await t.test("hostile - a provider's 600 KB error reply (message and data) reaches the caller clipped, its data dropped", async () => {
    const err = await rejection(app.llm.complete(say("fail")));
    assert.equal(err.code, RpcErrorCodes.LLM_CONNECTION);
    assert.ok(err.message.length < 1200, `message clipped (${err.message.length})`);
    assert.match(JSON.stringify(err.data), /^\{"dropped":"data of \d+ characters/);
  });

  await t.test("hostile - channel.send_outbound that never answers is NEXO_ERR_CHANNEL_TIMEOUT; a 600 KB error reply is clipped", async () => {
    const timeout = await app.channels.send("void", null, { kind: "text", to: "never", body: "x" }, { timeoutMs: 300 }).then(
      () => assert.fail("expected a rejection"),
      (e: { code?: string }) => e,
    );
    assert.equal(timeout.code, ErrorCodes.CHANNEL_TIMEOUT);
    const failed = await app.channels.send("void", null, { kind: "text", to: "fail", body: "x" }).then(
      () => assert.fail("expected a rejection"),
      (e: NexoError) => e,
    );
    assert.equal(failed.code, ErrorCodes.CHANNEL_CONNECTION);
    assert.ok(failed.message.length < 1300, `message clipped (${failed.message.length})`);
    assert.ok(JSON.stringify(failed.details.data).length < 5000);
  });
});

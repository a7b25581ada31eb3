import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { RpcError, RpcErrorCodes } from "../../src/contract/index.js";
import { MemoryService, MemoryStore } from "../../src/memory/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { storeDialects } from "../helpers/stores.js";

const DIALECTS = storeDialects();

const contents = (entries: Array<{ content: string }>) => entries.map((e) => e.content);

for (const [dialect, open] of DIALECTS) {
  test(`memory - ${dialect}: recall ranks entries matching more of the query first, only the agent's own, within the limit`, async (t) => {
    const store = await open(t);
    if (!store) return;
    const memory = new MemoryStore(store);
    // Inserted so that neither insertion order nor its reverse is the relevance order.
    const A = "Billing service deploy: the migration timed out";
    const B = "The deploy of the billing service failed on Friday";
    const C = "Lunch on Friday was pasta and the oven failed";
    const D = "Nothing relevant here at all";
    await memory.remember({ agent_id: "ana", content: A, tags: ["ops"] });
    await memory.remember({ agent_id: "ana", content: B });
    await memory.remember({ agent_id: "ana", content: C });
    await memory.remember({ agent_id: "ana", content: D });
    await memory.remember({ agent_id: "bob", content: "Bob's billing deploy worked" });
    // Other agents' everyday notes: a corpus where common words are not rare (bm25's idf needs one).
    for (const note of ["weekly sync moved to Tuesday", "buy milk", "the cat sleeps", "rain expected tomorrow", "read the book on Rust", "call the dentist"]) {
      await memory.remember({ agent_id: "zed", content: note });
    }

    const hits = await memory.recall({ agent_id: "ana", query: "billing deploy failed" });
    assert.deepEqual(contents(hits), [B, A, C], "three matching words, then two, then one");
    assert.ok(hits.every((e) => e.agent_id === "ana"));
    assert.deepEqual(contents(await memory.recall({ agent_id: "ana", query: "Billing DEPLOY failed!", limit: 1 })), [B], "case and punctuation do not matter; limit holds");
    assert.deepEqual(contents(await memory.recall({ agent_id: "bob", query: "billing deploy failed" })), ["Bob's billing deploy worked"]);
    assert.deepEqual(contents(await memory.recall({ agent_id: "ana", query: "ops" })), [A], "tags are searched");
    assert.deepEqual(await memory.recall({ agent_id: "ana", query: "kubernetes" }), []);
    assert.deepEqual(await memory.recall({ agent_id: "carol", query: "billing" }), []);
    // Query syntax of either engine is not interpreted: these are plain words.
    const odd = contents(await memory.recall({ agent_id: "ana", query: `pasta" OR "billing* & !deploy | (` }));
    assert.ok(odd.includes(C) && odd.includes(B), JSON.stringify(odd));
    assert.ok(!odd.includes(D));
    // No words: the newest entries of the agent.
    assert.deepEqual(contents(await memory.recall({ agent_id: "ana", query: "  ", limit: 2 })), [D, C]);
  });

  test(`memory - ${dialect}: entries keep the contract's shape; forget removes one from the index`, async (t) => {
    const store = await open(t);
    if (!store) return;
    const memory = new MemoryStore(store);
    const e = await memory.remember({ agent_id: "ana", content: "prefers tea", tags: ["drinks"], concept_tags: ["preference"], memory_type: "fact" });
    const [got] = await memory.recall({ agent_id: "ana", query: "tea" });
    assert.deepEqual(got, e);
    assert.deepEqual(Object.keys(got!).sort(), ["agent_id", "concept_tags", "content", "created_at", "id", "memory_type", "tags"]);
    assert.equal(await memory.forget("bob", e.id), false, "another agent cannot forget it");
    assert.equal(await memory.forget("ana", e.id), true);
    assert.deepEqual(await memory.recall({ agent_id: "ana", query: "tea preference" }), []);
    // A second MemoryStore on the same database migrates nothing again.
    assert.deepEqual(await store.migrate("memory", (await import("../../src/memory/index.js")).MEMORY_MIGRATIONS), []);
  });
}

test("memory - the memory.recall host service: default limit 10, bad params -32602, store opened on first use and closed", async (t) => {
  const url = `sqlite:${join(tempDir(t), "nexo.db")}`;
  const service = new MemoryService(url, captureLogger().logger);
  t.after(() => service.close());
  for (let i = 0; i < 12; i++) await service.remember({ agent_id: "ana", content: `note number ${i} about cats` });
  const recall = service.hostService();
  const ctx = { pluginKey: "p", pluginId: "p", requestId: 1, notify: () => true };
  const r = (await recall({ agent_id: "ana", query: "cats" }, ctx)) as { entries: unknown[] };
  assert.equal(r.entries.length, 10);
  const all = (await recall({ agent_id: "ana", query: "cats", limit: 1000 }, ctx)) as { entries: unknown[] };
  assert.equal(all.entries.length, 12);
  for (const bad of [
    { agent_id: "ana", query: "x", limit: 1001 },
    { agent_id: "ana", query: "x", limit: 0 },
    { agent_id: "ana", query: "x", limit: 2.5 },
    { agent_id: "", query: "x" },
    { agent_id: "ana" },
    null,
    [],
  ]) {
    await assert.rejects(recall(bad, ctx), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCodes.INVALID_PARAMS, JSON.stringify(bad));
  }
  await assert.rejects(service.remember({ agent_id: "ana", content: "   " }), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCodes.INVALID_PARAMS);
  await service.close();
  // Reopens on the next use, with the entries still there.
  assert.equal((await service.recall({ agent_id: "ana", query: "number 3" })).length > 0, true);
});

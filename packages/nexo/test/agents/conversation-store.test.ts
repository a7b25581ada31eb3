import assert from "node:assert/strict";
import { test } from "node:test";
import { ConversationStore } from "../../src/agents/index.js";
import type { ChatMessage } from "../../src/llm/index.js";
import { storeDialects } from "../helpers/stores.js";

const DIALECTS = storeDialects();

const turn = (n: number): ChatMessage[] => [
  { role: "user", content: `q${n}` },
  { role: "assistant", content: "", tool_calls: [{ id: `c${n}`, name: "lookup", arguments: { n } }] },
  { role: "tool", tool_call_id: `c${n}`, name: "lookup", content: `r${n}` },
  { role: "assistant", content: `a${n}` },
];

for (const [dialect, open] of DIALECTS) {
  test(`agent conversations - ${dialect}: appended per (binding, session), bounded, loaded from a user message, tool calls kept intact`, async (t) => {
    const store = await open(t);
    if (!store) return;
    const conv = new ConversationStore(store);
    await conv.append("support", "s1", turn(1), 6);
    await conv.append("support", "s2", turn(9), 6);
    await conv.append("other", "s1", turn(8), 6);
    assert.deepEqual(await conv.load("support", "s1", 6), turn(1));
    await conv.append("support", "s1", turn(2), 6);
    assert.equal(await conv.count("support", "s1"), 6);
    // The newest 6 are [tool r1, assistant a1, q2 ...]: loading starts at q2.
    assert.deepEqual(await conv.load("support", "s1", 6), turn(2));
    assert.deepEqual(await conv.load("support", "s2", 100), turn(9));
    assert.deepEqual(await conv.load("other", "s1", 100), turn(8));
    assert.deepEqual(await conv.load("support", "none", 100), []);
    // A second store object on the same database (another daemon) migrates nothing twice and sees the rows.
    assert.deepEqual(await new ConversationStore(store).load("support", "s1", 4), turn(2));
  });
}

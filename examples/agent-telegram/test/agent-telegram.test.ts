// The example's one command, run as a newcomer runs it (`npx tsx examples/agent-telegram/demo.ts`):
// real `nexo run` and `nexo tail` processes, the real telegram and billing plugins, loopback fakes
// of Telegram, Stripe and the model. Also the fake model's rules on their own.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { decide } from "../fake-llm.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

test("agent-telegram - the demo command answers three messages: memory_remember, the billing plugin's invoice tool, then from memory; nexo tail shows each step", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/agent-telegram/demo.ts"], { cwd: ROOT, env: { ...process.env, OPENAI_API_KEY: "" } });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once("close", r));
  assert.equal(code, 0, out);
  const replies = [...out.matchAll(/^bot \(to chat 4242\): (.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(replies, [
    "Noted, I will remember that.",
    "Here is what I found: Found invoice in_fake1 for cus_ada: draft amount due 0 usd",
    "From what you told me: I prefer email over phone calls",
  ]);
  // The steps as nexo tail printed them: a tool call through the billing plugin, one through memory_remember.
  assert.match(out, /\[agent\.helpdesk\.step\] step 1: model -> tool_calls memory_remember\n {2}\[agent\.helpdesk\.step\] step 1: tool memory_remember in/);
  assert.match(out, /\[agent\.helpdesk\.step\] step 1: model -> tool_calls billing_get_invoice\n {2}\[agent\.helpdesk\.step\] step 1: tool billing_get_invoice in [\d.]+ ms\n/);
  assert.equal((out.match(/\[agent\.helpdesk\.completed\]/g) ?? []).length, 3);
  assert.match(out, /the model was asked 5 time\(s\)/);
});

test("agent-telegram - the fake model's rules: tools only when offered, answers from tool results and memories", () => {
  const tools = [{ function: { name: "billing_get_invoice" } }, { function: { name: "memory_remember" } }];
  const sys = { role: "system", content: "Be brief." };
  assert.deepEqual(decide({ messages: [sys, { role: "user", content: "invoice in_9 please" }], tools }), { call: { name: "billing_get_invoice", args: { id: "in_9" } } });
  assert.ok("text" in decide({ messages: [sys, { role: "user", content: "invoice in_9 please" }] }), "no tool offered: no call");
  assert.deepEqual(decide({ messages: [sys, { role: "user", content: "Remember that tea > coffee" }], tools }), {
    call: { name: "memory_remember", args: { content: "tea > coffee" } },
  });
  const afterTool = decide({
    messages: [
      { role: "user", content: "x" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", function: { name: "billing_get_invoice", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c1", content: "paid" },
    ],
  });
  assert.deepEqual(afterTool, { text: "Here is what I found: paid" });
  const withMemory = { role: "system", content: "Be brief.\n\nWhat you remember (most relevant first):\n- likes tea\n- lives in Oslo" };
  assert.deepEqual(decide({ messages: [withMemory, { role: "user", content: "what do I like?" }] }), { text: "From what you told me: likes tea" });
});

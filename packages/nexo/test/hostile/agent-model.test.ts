// An agent against a hostile model: a loopback fake speaking the OpenAI Chat
// Completions protocol that asks for tools forever, for hundreds of tools in
// one answer, with huge arguments, or answers with a huge text.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ConversationStore } from "../../src/agents/index.js";
import { BindingsService, parseBindings } from "../../src/bindings/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { testApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

const HISTORY = 6;
/** Characters of the "hugebody" answer: past what the bounded fetch reads for the default llm.max_answer_chars (17 MiB). */
const HUGE_BODY = 40_000_000;

/** What the hostile model answers, chosen by the first user message of the turn's conversation. */
function answer(body: { messages: Array<{ role: string; content: unknown }> }): Record<string, unknown> {
  const users = body.messages.filter((m) => m.role === "user");
  const said = String(users[users.length - 1]?.content ?? "");
  const calls = (n: number, args: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => ({ id: `call_${body.messages.length}_${i}`, type: "function", function: { name: "echo", arguments: args(i) } }));
  const message =
    said === "forever"
      ? { role: "assistant", content: null, tool_calls: calls(1, () => "{}") }
      : said === "many"
        ? { role: "assistant", content: null, tool_calls: calls(500, (i) => JSON.stringify({ i })) }
        : said === "bigargs" && body.messages[body.messages.length - 1]!.role === "user"
          ? { role: "assistant", content: null, tool_calls: calls(1, () => JSON.stringify({ blob: "a".repeat(500_000) })) }
          : said === "bigtext"
            ? { role: "assistant", content: "t".repeat(3_000_000) }
            : said === "hugebody"
              ? { role: "assistant", content: "h".repeat(HUGE_BODY) }
              : { role: "assistant", content: `ok after ${body.messages.length} messages` };
  return {
    id: "chatcmpl-hostile",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "m",
    choices: [{ index: 0, message, finish_reason: "tool_calls" in message ? "tool_calls" : "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

test("hostile - an agent against a model that asks for too much", async (t) => {
  const requests: number[] = [];
  /** How much of each huge answer the server got to write before the client went away. */
  const hugeSent: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      requests.push(raw.length);
      const body = answer(JSON.parse(raw.toString("utf8")));
      res.writeHead(200, { "content-type": "application/json" });
      const text = JSON.stringify(body);
      if (!text.includes('"content":"hhhh')) return void res.end(text);
      // The huge answer goes out 1 MB at a time as the client reads it: a client that drops the connection stops it early.
      void (async () => {
        let at = 0;
        while (at < text.length && !res.destroyed) {
          const ok = res.write(text.slice(at, (at += 1_000_000)));
          if (!ok) await new Promise((r) => (res.once("drain", r), res.once("close", r)));
        }
        hugeSent.push(Math.min(at, text.length));
        res.end();
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;

  const { app, logs } = testApp(t, { llm: { providers: { evil: { kind: "openai", baseUrl: url, model: "m", maxRetries: 0 } } } });
  let echoed = 0;
  app.register(
    "echo",
    () => {
      echoed += 1;
      return { ok: true };
    },
    { description: "echo", inputSchema: { type: "object" } },
  );
  app.addService(
    new BindingsService(
      parseBindings([
        { name: "desk", channel: "chat", agent: { provider: "evil", tools: ["echo"], max_steps: 4, history: HISTORY } },
        // Its first turn comes last: the retention sweep runs on a binding's first turn, then once a minute.
        { name: "desk2", channel: "chat2", agent: { provider: "evil", history: HISTORY, history_ttl_seconds: 86_400 } },
        { name: "desk3", channel: "chat3", agent: { provider: "evil", history: 0, memory: { recall: 40 } } },
      ]),
    ),
  );
  const seen: Event[] = [];
  const sub = app.broker.subscribe("agent.desk.>", (e) => void seen.push(e), { bufferSize: 10_000 });
  t.after(() => sub.unsubscribe());
  await app.start();
  const turn = async (text: string, session: string): Promise<Event> => {
    const before = seen.filter((e) => e.topic !== "agent.desk.step").length;
    const e = newEvent("plugin.inbound.chat.web", "test", { text, chat_id: 1 }, { sessionId: session });
    await app.broker.publish(e.topic, e);
    await waitFor(() => seen.filter((x) => x.topic !== "agent.desk.step").length > before, `the end of the turn "${text}"`, 20_000, 10);
    return seen.filter((x) => x.topic !== "agent.desk.step")[before]!;
  };

  await t.test("hostile - a model asking for tools forever stops at max_steps with NEXO_ERR_AGENT_STEP_LIMIT", async () => {
    const end = await turn("forever", "s-forever");
    assert.equal(end.topic, "agent.desk.failed");
    assert.equal((end.payload as { code: string }).code, ErrorCodes.AGENT_STEP_LIMIT);
    assert.equal(echoed, 4);
  });

  await t.test("hostile - 500 tool calls in one answer: max_tool_calls of them run, the rest are dropped and counted", async () => {
    echoed = 0;
    const end = await turn("many", "s-many");
    assert.equal(end.topic, "agent.desk.failed", "the model keeps asking, so the turn ends at max_steps");
    assert.equal(echoed, 4 * 16, "16 calls per answer, 4 answers");
    const dropped = logs().filter((l) => l.reason === "max_tool_calls");
    assert.ok(dropped.length >= 1 && dropped.length <= 5, `logged throttled (${dropped.length})`);
    const step = seen.find((e) => e.topic === "agent.desk.step" && (e.payload as { dropped_tool_calls?: number }).dropped_tool_calls !== undefined);
    assert.equal((step!.payload as { dropped_tool_calls: number }).dropped_tool_calls, 500 - 16);
  });

  await t.test("hostile - tool arguments of 500 KB (past 64 KiB) are not run and not kept; the model reads an error", async () => {
    echoed = 0;
    const end = await turn("bigargs", "s-big");
    assert.equal(end.topic, "agent.desk.completed");
    assert.equal(echoed, 0);
    const store = new ConversationStore(await app.memory.openStore());
    const stored = await store.load("desk", "s-big", HISTORY);
    const size = JSON.stringify(stored).length;
    assert.ok(size < 10_000, `the stored conversation holds no 500 KB arguments (${size} characters)`);
    assert.ok(stored.some((m) => m.role === "tool" && /over 65536 characters; the tool was not run/.test(m.content)));
  });

  await t.test("hostile - a 3 MB answer past llm.max_answer_chars fails the turn with -33103; nothing is stored", async () => {
    const end = await turn("bigtext", "s-text");
    assert.equal(end.topic, "agent.desk.failed");
    assert.match((end.payload as { message: string }).message, /max_answer_chars/);
    const store = new ConversationStore(await app.memory.openStore());
    assert.equal(await store.count("desk", "s-text"), 0);
  });

  await t.test("hostile - a 1 MB user message fails the turn with NEXO_ERR_AGENT_INPUT_TOO_LARGE before any model call; nothing is stored", async () => {
    const before = requests.length;
    const end = await turn("m".repeat(1_000_000), "s-flood");
    assert.equal(end.topic, "agent.desk.failed");
    assert.equal((end.payload as { code: string }).code, ErrorCodes.AGENT_INPUT_TOO_LARGE);
    assert.equal(requests.length, before, "the model was not called");
    assert.equal(await new ConversationStore(await app.memory.openStore()).count("desk", "s-flood"), 0);
  });

  await t.test("hostile - a session's stored conversation stays at its history bound however many turns it has", async () => {
    for (let i = 0; i < 8; i++) await turn(`hello ${i}`, "s-long");
    const store = new ConversationStore(await app.memory.openStore());
    assert.equal(await store.count("desk", "s-long"), HISTORY);
  });

  await t.test("hostile - a 40 MB response body is cut off while it is read (the connection dropped), not buffered whole", async () => {
    const end = await turn("hugebody", "s-huge");
    assert.equal(end.topic, "agent.desk.failed");
    assert.match((end.payload as { message: string }).message, /max_answer_chars/);
    await waitFor(() => hugeSent.length === 1, "the server to stop writing the huge answer", 5000, 10);
    assert.ok(hugeSent[0]! < HUGE_BODY * 0.75, `the connection was dropped after ${hugeSent[0]} of ${HUGE_BODY} characters`);
  });

  await t.test("hostile - messages past history_ttl_seconds are deleted in every session of the binding, so new sessions cannot grow the store for ever", async () => {
    const db = await app.memory.openStore();
    const store = new ConversationStore(db);
    // Sessions a flood of callers opened two days ago, and one of today.
    for (let i = 0; i < 50; i++) await store.append("desk2", `old-${i}`, [{ role: "user", content: "hi" }], HISTORY);
    await db.exec("UPDATE nexo_agent_messages SET created_at = ? WHERE binding = 'desk2' AND session_id LIKE 'old-%'", [Date.now() - 2 * 86_400_000]);
    await store.append("desk2", "recent", [{ role: "user", content: "hi" }], HISTORY);
    const e = newEvent("plugin.inbound.chat2.web", "test", { text: "hello", chat_id: 2 }, { sessionId: "s-2" });
    await app.broker.publish(e.topic, e);
    await waitFor(async () => (await store.count("desk2", "old-0")) === 0, "the old sessions to be swept", 10_000, 20);
    assert.equal(await store.count("desk2", "old-49"), 0);
    assert.equal(await store.count("desk2", "recent"), 1);
    assert.equal(await store.count("desk", "s-long"), HISTORY, "another binding's sessions are its own");
  });

  await t.test("hostile - recalled memories put into the system prompt are held to 32 KiB however many and large they are", async () => {
    for (let i = 0; i < 40; i++) await app.memory.remember({ agent_id: "desk3", content: `note ${i} ${"x".repeat(60_000)}` });
    const before = requests.length;
    const e = newEvent("plugin.inbound.chat3.web", "test", { text: "note", chat_id: 3 }, { sessionId: "s-3" });
    await app.broker.publish(e.topic, e);
    await waitFor(() => requests.length > before, "the model call", 10_000, 20);
    assert.ok(requests[before]! < 40_000, `the model call carried ${requests[before]} bytes, not 40 memories of 60 KB`);
  });
});

// Agent bindings against the loopback OpenAI and Anthropic fakes (tool calls scripted by
// the conversation, see scriptedTurn): inbound message -> model -> app.callTool -> model
// -> outbound reply in the same chat; history per session on the store; every step on the broker.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ConversationStore } from "../../src/agents/index.js";
import { BindingsService, parseBindings } from "../../src/bindings/index.js";
import { normalizeConfig, type BindingConfig } from "../../src/config/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { contributedRegistries } from "../../src/plugins/monitoring/contributions.js";
import { testApp } from "../helpers/app.js";
import { startFakeLlm, type FakeLlm } from "../helpers/fake-llm.js";
import { waitFor } from "../helpers/wait.js";
import { agentkitManifest } from "../helpers/agentkit.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const KINDS = { openai: "oai", anthropic: "claude" } as const;

async function setup(t: TestContext, fake: FakeLlm, provider: string, agent: Record<string, unknown>, extra: Partial<BindingConfig> = {}, memoryRememberTool = false) {
  // The Anthropic client insists on a key; the fake accepts any.
  process.env.NEXO_TEST_AGENT_KEY = "sk-agent-test";
  t.after(() => delete process.env.NEXO_TEST_AGENT_KEY);
  const { app } = testApp(t, {
    memoryRememberTool,
    llm: {
      providers: {
        oai: { kind: "openai", baseUrl: `${fake.url}/v1`, model: "gpt-fake", maxRetries: 0 },
        claude: { kind: "anthropic", baseUrl: fake.url, model: "claude-fake", apiKeyEnv: "NEXO_TEST_AGENT_KEY", maxRetries: 0 },
      },
    },
  });
  const calls: unknown[] = [];
  app.register(
    "lookup_order",
    (inputs: { id: string }) => {
      calls.push(inputs);
      return { order: inputs.id, status: "shipped" };
    },
    { description: "Look up an order", inputSchema: { type: "object", required: ["id"], properties: { id: { type: "string" } }, additionalProperties: false } },
  );
  app.register("secret_admin", () => ({ wiped: true }), { description: "must never be offered" });
  const service = new BindingsService(parseBindings([{ name: "support", channel: "chat", agent: { provider, ...agent }, ...extra }]));
  app.addService(service);
  const seen: Event[] = [];
  const sub = app.broker.subscribe(">", (e) => void seen.push(e), { bufferSize: 10_000 });
  t.after(() => sub.unsubscribe());
  await app.start();
  const publish = async (text: string, sessionId = "chat:7", extraPayload: Record<string, unknown> = {}): Promise<Event> => {
    const e = newEvent("plugin.inbound.chat.web", "test", { text, chat_id: 7, message_id: 100 + seen.length, ...extraPayload }, { sessionId });
    await app.broker.publish(e.topic, e);
    return e;
  };
  const on = (topic: string): Event[] => seen.filter((e) => e.topic === topic);
  return { app, service, calls, publish, on };
}

for (const [kind, provider] of Object.entries(KINDS)) {
  test(`agents - ${kind}: a tool call runs through app.callTool and the answer goes to the same chat; history is kept per session`, async (t) => {
    const fake = await startFakeLlm(t);
    const { app, calls, publish, on } = await setup(t, fake, provider, { system_prompt: "You help with orders.", tools: ["lookup_*"], history: 6 });
    const inbound = await publish('CALL lookup_order {"id":"A1"}');
    await waitFor(() => on("plugin.outbound.chat.web").length === 1, "the reply");
    const [reply] = on("plugin.outbound.chat.web");
    assert.deepEqual(reply!.payload, { text: 'done: {"order":"A1","status":"shipped"}', chat_id: 7, reply_to_message_id: (inbound.payload as { message_id: number }).message_id });
    assert.equal(reply!.session_id, "chat:7");
    assert.equal(reply!.correlation_id, inbound.id);
    assert.equal(reply!.source, "binding.support");
    assert.deepEqual(calls, [{ id: "A1" }]);

    // Only the tools the patterns allow were offered, under their names.
    const offered = (fake.requests[0]!.body.tools as Array<any>).map((x) => (kind === "openai" ? x.function.name : x.name));
    assert.deepEqual(offered, ["lookup_order"]);
    // The second model call carried the tool's result.
    assert.equal(fake.requests.length, 2);

    // Every step is an event: model (asks for the tool), tool, model (answers).
    await waitFor(() => on("agent.support.completed").length === 1, "the completed event");
    const steps = on("agent.support.step").map((e) => e.payload as Record<string, unknown>);
    assert.deepEqual(
      steps.map((s) => [s.step, s.kind, s.kind === "tool" ? s.tool : s.answer]),
      [
        [1, "model", "tool_calls"],
        [1, "tool", "lookup_order"],
        [2, "model", "text"],
      ],
    );
    assert.equal(steps[1]!.is_error, false);
    assert.deepEqual((on("agent.support.completed")[0]!.payload as Record<string, unknown>).steps, 2);

    // The same session continues the conversation: the next request carries the earlier turn.
    await publish("and thanks");
    await waitFor(() => on("plugin.outbound.chat.web").length === 2, "the second reply");
    assert.equal((on("plugin.outbound.chat.web")[1]!.payload as { text: string }).text, "echo: and thanks");
    const third = fake.requests[2]!.body.messages as Array<{ role: string }>;
    const roles = third.filter((m) => m.role !== "system").map((m) => m.role);
    assert.deepEqual(roles, kind === "openai" ? ["user", "assistant", "tool", "assistant", "user"] : ["user", "assistant", "user", "assistant", "user"]);
    // Another session starts empty.
    await publish("who am I", "chat:8");
    await waitFor(() => on("plugin.outbound.chat.web").length === 3, "the third reply");
    assert.equal((fake.requests[3]!.body.messages as Array<{ role: string }>).filter((m) => m.role !== "system").length, 1);

    // Bounded: history 6 keeps the newest 6 of the 6 messages of session chat:7 (4 + 2).
    const store = new ConversationStore(await app.memory.openStore());
    assert.equal(await store.count("support", "chat:7"), 6);
    await publish("once more");
    await waitFor(() => on("plugin.outbound.chat.web").length === 4, "the fourth reply");
    assert.equal(await store.count("support", "chat:7"), 6);
    // The oldest kept message is now a tool result: the next load starts at the first user message instead.
    const loaded = await store.load("support", "chat:7", 6);
    assert.equal(loaded[0]!.role, "user");

    // Metrics: turns and steps by binding.
    const text = (await Promise.all(contributedRegistries(app).map((r) => r.metrics()))).join("\n");
    assert.match(text, /nexo_agent_turns_total\{binding="support",outcome="replied"\} 4/);
    assert.match(text, /nexo_agent_steps_total\{binding="support",kind="tool"\} 1/);
  });
}

test("agents - recalled memories go into the system prompt; a tool outside the patterns is never offered nor run", async (t) => {
  const fake = await startFakeLlm(t);
  const { app, publish, on } = await setup(t, fake, "oai", { system_prompt: "Be kind.", tools: ["lookup_order"], memory: { recall: 3 } });
  await app.memory.remember({ agent_id: "support", content: "Ada prefers email over phone calls" });
  await app.memory.remember({ agent_id: "someone-else", content: "Ada prefers pigeons" });
  await publish("how should we contact Ada?");
  await waitFor(() => on("plugin.outbound.chat.web").length === 1, "the reply");
  const system = (fake.requests[0]!.body.messages as Array<{ role: string; content: string }>)[0]!;
  assert.equal(system.role, "system");
  assert.match(system.content, /^Be kind\.\n\nWhat you remember \(most relevant first\):\n- Ada prefers email over phone calls$/);
  // Asking for a tool the agent was not given: the fake sees no such tool and the workflow never runs.
  await publish("CALL secret_admin {}");
  await waitFor(() => on("plugin.outbound.chat.web").length === 2, "the second reply");
  assert.equal((on("plugin.outbound.chat.web")[1]!.payload as { text: string }).text, "echo: CALL secret_admin {}");
  assert.equal(on("workflow.secret_admin.started").length, 0);
});

test("agents - the step limit ends a turn with nothing sent and agent.<binding>.failed naming NEXO_ERR_AGENT_STEP_LIMIT", async (t) => {
  const fake = await startFakeLlm(t);
  const { service, publish, on } = await setup(t, fake, "oai", { tools: ["lookup_*"], max_steps: 1 });
  await publish('CALL lookup_order {"id":"B2"}');
  await waitFor(() => on("agent.support.failed").length === 1, "the failure event");
  assert.equal((on("agent.support.failed")[0]!.payload as { code: string }).code, ErrorCodes.AGENT_STEP_LIMIT);
  assert.equal(on("plugin.outbound.chat.web").length, 0);
  await waitFor(() => service.stats()[0]!.failed === 1, "the failure counted");
  assert.equal(service.stats()[0]!.workflow, "agent");
});

test("agents - agent settings are checked with the binding: each bad field named, workflow and agent exclusive", () => {
  assert.throws(
    () =>
      parseBindings([
        { channel: "chat", workflow: "x", agent: {} },
        { channel: "chat", agent: { max_steps: 0, tools: "all", memory: { recall: -1 }, colour: "red" } },
      ]),
    (e: unknown) => {
      assert.ok(isNexoError(e, ErrorCodes.BINDING_INVALID), String(e));
      const paths = (e.details.data?.violations ?? []).map((x) => x.path);
      for (const path of ["/bindings/0/workflow", "/bindings/1/agent/max_steps", "/bindings/1/agent/tools", "/bindings/1/agent/memory/recall", "/bindings/1/agent/colour"])
        assert.ok(paths.includes(path), `${path} in ${paths.join(", ")}`);
      return true;
    },
  );
});

test("agents - on an LLM provider plugin with a memory backend plugin: the tool call, the recall and the answer all go through the plugin", async (t) => {
  const { app } = testApp(t);
  const calls: unknown[] = [];
  app.register("lookup_order", (inputs: { id: string }) => (calls.push(inputs), { status: "packed" }), {
    inputSchema: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
  });
  app.host.add({ manifest: await agentkitManifest(tempDir(t)) });
  app.addService(
    new BindingsService(parseBindings([{ name: "kit", channel: "chat", agent: { provider: "scripted", tools: ["lookup_*"], memory: { recall: 2, backend: "wordmem" } } }])),
  );
  const replies: Event[] = [];
  const sub = app.broker.subscribe("plugin.outbound.chat.>", (e) => void replies.push(e), { bufferSize: 100 });
  t.after(() => sub.unsubscribe());
  await app.start();
  await app.memory.remember({ agent_id: "kit", content: "orders ship on tuesdays" }, "wordmem");
  const send = (text: string) => app.broker.publish("plugin.inbound.chat.x", newEvent("plugin.inbound.chat.x", "test", { text, chat_id: 1 }, { sessionId: "k1" }));
  await send('CALL lookup_order {"id":"Z9"}');
  await waitFor(() => replies.length === 1, "the first reply");
  assert.equal((replies[0]!.payload as { text: string }).text, 'done: {"status":"packed"}');
  assert.deepEqual(calls, [{ id: "Z9" }]);
  // The plugin echoes the system prompt it got: the memory recalled from the backend plugin is in it.
  await send("when do orders ship");
  await waitFor(() => replies.length === 2, "the second reply");
  assert.match(
    (replies[1]!.payload as { text: string }).text,
    /^plugin echo: when do orders ship \[system: What you remember \(most relevant first\):\n- orders ship on tuesdays\]$/,
  );
});

test("agents config - nexo.yaml with an agent binding and memory.backend loads; a binding with neither workflow nor agent does not", () => {
  const config = normalizeConfig(
    {
      memory: { backend: "wordmem", remember_tool: true },
      bindings: [{ name: "desk", channel: "telegram", instance: "helpdesk", agent: { provider: "main", tools: ["billing_*"], memory: { recall: 3 }, max_steps: 4 } }],
    },
    "/tmp/nexo.yaml",
    "/tmp",
  );
  assert.deepEqual(config.memory, { rememberTool: true, backend: "wordmem" });
  const [spec] = parseBindings(config.bindings);
  assert.equal(spec!.workflow, undefined);
  assert.deepEqual(spec!.agent, {
    provider: "main",
    systemPrompt: "",
    tools: ["billing_*"],
    agentId: "desk",
    recall: 3,
    maxSteps: 4,
    maxToolCalls: 16,
    history: 40,
    historyTtlSeconds: 2_592_000,
    maxInputChars: 32_768,
    textField: "text",
  });
  assert.deepEqual(spec!.patterns, ["plugin.inbound.telegram.helpdesk", "plugin.inbound.telegram.helpdesk.>"]);
  assert.throws(
    () => normalizeConfig({ bindings: [{ channel: "telegram" }] }, "/tmp/nexo.yaml", "/tmp"),
    (e: { code?: string }) => e.code === ErrorCodes.CONFIG_INVALID,
  );
  assert.throws(
    () => normalizeConfig({ memory: { backend: "Bad Name" } }, "/tmp/nexo.yaml", "/tmp"),
    (e: { code?: string }) => e.code === ErrorCodes.CONFIG_INVALID,
  );
});

test("agents - memory_remember writes the agent's own memories: agent_id is not asked of the model and cannot be chosen by it", async (t) => {
  const fake = await startFakeLlm(t);
  const { app, publish, on } = await setup(t, fake, "oai", { tools: ["memory_*"] }, {}, true);
  await publish('CALL memory_remember {"content":"likes green tea","agent_id":"someone-else"}');
  await waitFor(() => on("plugin.outbound.chat.web").length === 1, "the reply");
  const offered = (fake.requests[0]!.body.tools as Array<any>)[0].function;
  assert.equal(offered.name, "memory_remember");
  assert.equal(offered.parameters.properties.agent_id, undefined);
  assert.deepEqual(offered.parameters.required, ["content"]);
  assert.deepEqual(
    (await app.memory.recall({ agent_id: "support", query: "tea" })).map((e) => e.content),
    ["likes green tea"],
  );
  assert.deepEqual(await app.memory.recall({ agent_id: "someone-else", query: "tea" }), []);
});

test("agents - with concurrency above 1, turns of one session still run one after the other, each seeing the previous one", async (t) => {
  const fake = await startFakeLlm(t);
  const { publish, on } = await setup(t, fake, "oai", {}, { concurrency: 4 });
  await Promise.all([publish("one"), publish("two"), publish("three"), publish("other session", "chat:9")]);
  await waitFor(() => on("plugin.outbound.chat.web").length === 4, "four replies");
  const byLast = (text: string) =>
    fake.requests.find((r) => (r.body.messages as Array<{ content: string }>).at(-1)!.content === text)!.body.messages as Array<{ role: string; content: string }>;
  assert.deepEqual(
    byLast("three")
      .filter((m) => m.role === "user")
      .map((m) => m.content),
    ["one", "two", "three"],
  );
  assert.deepEqual(
    byLast("other session")
      .filter((m) => m.role === "user")
      .map((m) => m.content),
    ["other session"],
  );
});

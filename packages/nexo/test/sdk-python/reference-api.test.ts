// Python plugins written against the reference SDK's API (lordmacu/nexo-plugin-sdks, python/)
// run under the daemon exactly as `nexo run --config` starts it: tools, events, host calls
// answered by host services the test installs, and pattern 3's reference snippet as written.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import { normalizeConfig } from "../../src/config/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import type { Nexo } from "../../src/app/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

const SDK_PY = fileURLToPath(new URL("../../../../sdk/python", import.meta.url));
const REFAPI = join(SDK_PY, "tests", "fixtures", "reference_api_plugin.py");
const TOOLS = ["echo", "recall", "complete", "fail", "plain", "selfcheck"];

/** Start the daemon from a nexo.yaml over `pluginDir`'s parent, with `configure` run before the app starts. */
async function startDaemon(t: TestContext, pluginDir: string, id: string, configure?: (app: Nexo) => void): Promise<{ daemon: Daemon; broker: LocalBroker }> {
  const root = join(pluginDir, "..");
  const raw = { state_dir: join(root, "state"), plugin_paths: [root], api: { enabled: false }, plugins: { [id]: {} }, timeouts: { plugin_shutdown_grace_ms: 10_000 } };
  const config = normalizeConfig(raw, join(root, "nexo.yaml"), root);
  const broker = new LocalBroker();
  t.after(() => broker.close());
  const daemon = await Daemon.start(config, { logger: captureLogger("warn").logger, broker, controlSocket: false, ...(configure ? { configure } : {}) });
  t.after(() => daemon.stop());
  const sup = daemon.host.require(id);
  assert.equal(sup.currentState, "ready", sup.status().stderrTail.join("\n"));
  return { daemon, broker };
}

/** The app's public name of the plugin's tool `pluginTool`. */
function toolName(app: Nexo, pluginTool: string): string {
  const info = app.listTools().find((x) => x.pluginTool === pluginTool);
  assert.ok(info, `tool ${pluginTool} is listed: ${JSON.stringify(app.listTools().map((x) => x.pluginTool))}`);
  return info.name;
}

test("sdk-python - a plugin written against the reference API runs under the daemon: tools, events, memory.recall and llm.complete through host services, replies correlated", async (t) => {
  const dir = join(tempDir(t), "refapi");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    [
      "[plugin]",
      'id = "refapi"',
      'version = "0.3.0"',
      'name = "Reference API"',
      'description = "written against the reference SDK docs"',
      'min_nexo_version = ">=0.1.0"',
      "[plugin.entrypoint]",
      'command = "python3"',
      `args = [${JSON.stringify(REFAPI)}]`,
      "[[plugin.channels.register]]",
      'kind = "refapi"',
      'adapter = "RefApi"',
      "[plugin.extends]",
      `tools = ${JSON.stringify(TOOLS.map((n) => `refapi_${n}`))}`,
      "",
    ].join("\n"),
  );
  const recalls: unknown[] = [];
  const completions: unknown[] = [];
  const { daemon, broker } = await startDaemon(t, dir, "refapi", (app) => {
    app.host.setHostService("memory.recall", async (params) => {
      recalls.push(params);
      const { agent_id, query } = params as { agent_id: string; query: string };
      return { entries: [{ id: "m1", agent_id, content: `remembered ${query}`, tags: ["t"], concept_tags: [], created_at: "2026-01-01T00:00:00Z", memory_type: null }] };
    });
    app.host.setHostService("llm.complete", async (params) => {
      completions.push(params);
      const prompt = (params as { messages: Array<{ content: string }> }).messages[0].content;
      return { content: `answer to ${prompt}`, finish_reason: "stop", usage: { prompt_tokens: 3, completion_tokens: 4 } };
    });
  });
  const app = daemon.app;

  // Tools, through the daemon's tool registry.
  const echo = await app.callTool(toolName(app, "refapi_echo"), { a: 1 }, { agentId: "shopper" });
  assert.deepEqual(echo.structured_content, { args: { a: 1 }, agent_id: "shopper", plugin_id: "refapi", tool: "refapi_echo" });
  const recalled = await app.callTool(toolName(app, "refapi_recall"), { q: "tea" }, { agentId: "shopper" });
  assert.deepEqual(recalled.content, [{ type: "text", text: '["remembered tea"]' }]);
  assert.deepEqual(recalls[0], { agent_id: "shopper", query: "tea", limit: 10 });
  const completed = await app.callTool(toolName(app, "refapi_complete"), { prompt: "why" });
  assert.deepEqual(completed.content, [{ type: "text", text: "answer to why" }]);
  assert.equal("stream" in (completions[0] as object), false, "a plain llm.complete carries no stream flag");
  const plain = await app.callTool(toolName(app, "refapi_plain"), {});
  assert.equal(plain.is_error, true);
  await assert.rejects(app.callTool(toolName(app, "refapi_fail"), { kind: "unavailable" }), (err) => isNexoError(err, ErrorCodes.TOOL_UNAVAILABLE));
  await assert.rejects(app.callTool(toolName(app, "refapi_fail"), { kind: "denied" }), (err) => isNexoError(err, ErrorCodes.TOOL_DENIED));
  await assert.rejects(app.callTool(toolName(app, "refapi_fail"), { kind: "badjson" }), (err) => isNexoError(err, ErrorCodes.TOOL_EXECUTION_FAILED));
  const checks = (await app.callTool(toolName(app, "refapi_selfcheck"), {})).structured_content as Record<string, unknown>;
  assert.equal(checks.manifest_error, true);
  assert.equal(checks.guard_installed, true);

  // Events: each answer is published without a correlation_id and arrives correlated to its event.
  const seen: Event[] = [];
  const sub = broker.subscribe("plugin.inbound.refapi", (e) => void seen.push(e), { name: "test", bufferSize: 1024 });
  t.after(() => sub.unsubscribe());
  const send = async (payload: Record<string, unknown>): Promise<Event> => {
    const ev = newEvent("plugin.outbound.refapi", "test", payload);
    await broker.publish("plugin.outbound.refapi", ev);
    await waitFor(() => seen.some((e) => e.correlation_id === ev.id), `answer to ${JSON.stringify(payload)}`);
    return seen.find((e) => e.correlation_id === ev.id)!;
  };
  assert.deepEqual((await send({ op: "echo", n: 1 })).payload, { echoed: { op: "echo", n: 1 }, topic: "plugin.outbound.refapi" });
  assert.deepEqual((await send({ op: "recall", query: "prefs" })).payload, { contents: ["remembered prefs"], ids: ["m1"], typed: true, tags: [["t"]] });
  assert.deepEqual((await send({ op: "complete", prompt: "hi" })).payload, { content: "answer to hi", finish_reason: "stop", prompt_tokens: 3, completion_tokens: 4, typed: true });
  assert.deepEqual(completions[1], { provider: "prov", model: "mod", messages: [{ role: "user", content: "hi" }], max_tokens: 64, temperature: 0.1, system_prompt: "be brief" });

  const sup = daemon.host.require("refapi");
  await daemon.stop();
  assert.equal(sup.status().lastExitCode, 0, sup.status().stderrTail.join("\n"));
});

// Pattern 3 ("RPC bridge to an external API"), written in Python as the reference snippet
// writes it: the handler publishes the .reply event without a correlation_id.
const SEED_PATTERN_3 = (sdk: string) => `
import asyncio, sys
sys.path.insert(0, ${JSON.stringify(sdk)})
from nexo_plugin_sdk import PluginAdapter, Event

MANIFEST = open("nexo-plugin.toml").read()


class _Invoices:
    async def create(self, params):
        return {"id": "in_1", "amount": params["amount"], "status": "draft"}


class _StripeClient:  # stands in for the Stripe SDK
    invoices = _Invoices()


stripe_client = _StripeClient()


async def on_event(topic, event, broker):
    if topic == "plugin.tool.stripe.create_invoice":
        inv = await stripe_client.invoices.create(event.payload)
        await broker.publish("plugin.tool.stripe.create_invoice.reply",
                             Event.new("plugin.tool.reply", "stripe-bridge", {"result": inv}))


adapter = PluginAdapter(manifest_toml=MANIFEST, on_event=on_event)
asyncio.run(adapter.run())
`;

test("sdk-python - plugin pattern 3 as written (reply published without a correlation_id) answers the tool call", async (t) => {
  const dir = join(tempDir(t), "stripe_bridge");
  mkdirSync(join(dir, "tools"), { recursive: true });
  writeFileSync(join(dir, "tools", "create_invoice.json"), JSON.stringify({ type: "object", required: ["amount"], properties: { amount: { type: "integer" } } }));
  writeFileSync(join(dir, "main.py"), SEED_PATTERN_3(SDK_PY));
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    [
      "[plugin]",
      'id = "stripe_bridge"',
      'version = "0.1.0"',
      "[plugin.entrypoint]",
      'command = "python3"',
      'args = ["main.py"]',
      "[[plugin.tools.expose]]",
      'name = "stripe.create_invoice"',
      'schema_path = "./tools/create_invoice.json"',
      "",
    ].join("\n"),
  );
  const { daemon } = await startDaemon(t, dir, "stripe_bridge");
  const r = await daemon.app.callTool(toolName(daemon.app, "stripe.create_invoice"), { amount: 1200 }, { timeoutMs: 10_000 });
  assert.deepEqual(r.structured_content, { id: "in_1", amount: 1200, status: "draft" });
  const again = await Promise.all([1, 2, 3].map((amount) => daemon.app.callTool(toolName(daemon.app, "stripe.create_invoice"), { amount }, { timeoutMs: 10_000 })));
  assert.deepEqual(
    again.map((x) => (x.structured_content as { amount: number }).amount),
    [1, 2, 3],
  );
});

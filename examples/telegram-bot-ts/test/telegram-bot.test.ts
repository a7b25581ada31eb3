// Pattern 8 end to end: `nexo run` (a real daemon process) started from
// examples/telegram-bot-ts/nexo.yaml runs one telegram plugin process per
// instance, each long-polling a fake Bot API on loopback with its own token.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { ControlClient, ControlMethods, TAIL_EVENT } from "../../../packages/nexo/src/surfaces/control/index.js";
import { newEvent, type Event } from "../../../packages/nexo/src/contract/index.js";
import { collect, REPO_ROOT, runNexo, spawnNexoRun, startExampleDaemon, tempDir, waitFor, waitForPlugins, writeExampleConfig } from "../../test-support/index.js";
import { FakeTelegram } from "./fake-telegram.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));
const TOKENS = {
  support: "7301558261:AAGq3vUeS8Jm2XkQ0hYzTt5Lb9RwNcDpFiE",
  sales: "6198273645:AAFz8NwQe1Rt6YuIo3PaSd7FgHjKl2ZxCvB",
  broken: "5550001111:AAHrevokedrevokedrevokedrevokedrev",
};

test("telegram-bot-ts - one process per instance, each with its own token and topics; updates in, messages out, offsets confirmed; no token in the daemon's log or in nexo plugin status", async (t) => {
  const tg = await FakeTelegram.start({ support: TOKENS.support, sales: TOKENS.sales });
  t.after(() => tg.close());
  const dir = tempDir(t);
  const config = writeExampleConfig(EXAMPLE, dir, (raw) => {
    raw.state_dir = join(dir, "state");
    raw.log_level = "debug";
    raw.timeouts = { plugin_shutdown_grace_ms: 10_000 };
    assert.deepEqual(
      raw.plugins.telegram.map((i: { instance: string; bot_token_env: string }) => [i.instance, i.bot_token_env]),
      [
        ["support-bot", "TG_SUPPORT_TOKEN"],
        ["sales-bot", "TG_SALES_TOKEN"],
      ],
    );
    // A third bot whose token the API does not accept (revoked): errors get logged, the token must not be.
    raw.plugins.telegram.push({ instance: "broken-bot", bot_token_env: "TG_BROKEN_TOKEN", config: {} });
    for (const i of raw.plugins.telegram) i.config = { ...i.config, api_base_url: tg.baseUrl, poll_timeout_secs: 50, max_backoff_ms: 200 };
  });
  const socket = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  const daemon = spawnNexoRun(t, config, { TG_SUPPORT_TOKEN: TOKENS.support, TG_SALES_TOKEN: TOKENS.sales, TG_BROKEN_TOKEN: TOKENS.broken });
  await waitForPlugins(socket.NEXO_SOCKET, (rows) => rows.filter((p) => p.state === "ready").length === 3, "three telegram instances ready").catch((err) => {
    throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.output()}`);
  });
  const list = JSON.parse((await runNexo(["plugin", "list", "--json"], socket)).stdout) as Array<{ key: string; pid: number }>;
  assert.deepEqual(list.map((p) => p.key).sort(), ["telegram.broken-bot", "telegram.sales-bot", "telegram.support-bot"]);
  assert.equal(new Set(list.map((p) => p.pid)).size, 3, "a process per instance");

  const client = await ControlClient.connect(socket.NEXO_SOCKET);
  t.after(() => client.close());
  const seen: Event[] = [];
  client.onNotification((method, params) => {
    if (method === TAIL_EVENT) seen.push((params as { event: Event }).event);
  });
  await client.request(ControlMethods.TAIL, { pattern: "plugin.*.telegram.>" });
  await waitFor(() => tg.isPolling(TOKENS.support) && tg.isPolling(TOKENS.sales), "both bots long-polling");

  const u1 = tg.userSays(TOKENS.support, 4242, "my order is late");
  tg.userSays(TOKENS.sales, 7777, "do you ship to Lisbon?");
  const inbound = (): Event[] => seen.filter((e) => e.topic.startsWith("plugin.inbound."));
  await waitFor(() => inbound().length === 2, "one update per bot");
  const byTopic = Object.fromEntries(inbound().map((e) => [e.topic, e]));
  assert.deepEqual(Object.keys(byTopic).sort(), ["plugin.inbound.telegram.sales-bot", "plugin.inbound.telegram.support-bot"]);
  const sup = byTopic["plugin.inbound.telegram.support-bot"];
  // The host stamps the publishing instance's key.
  assert.equal(sup.source, "telegram.support-bot");
  assert.equal(sup.session_id, "telegram:support-bot:4242");
  assert.deepEqual(
    { instance: (sup.payload as any).instance, chat: (sup.payload as any).chat_id, text: (sup.payload as any).text, update: (sup.payload as any).update_id },
    { instance: "support-bot", chat: 4242, text: "my order is late", update: u1 },
  );
  assert.equal((byTopic["plugin.inbound.telegram.sales-bot"].payload as any).text, "do you ship to Lisbon?");

  // The next poll confirms the update (offset = update_id + 1); a new update alone comes next.
  await waitFor(() => tg.polls(TOKENS.support).some((p) => p.offset === u1 + 1), "offset advanced past the first update");
  assert.deepEqual(tg.pending(TOKENS.support), []);
  tg.userSays(TOKENS.support, 4242, "hello?");
  await waitFor(() => inbound().length === 3, "the second support update");
  assert.equal((inbound()[2].payload as any).text, "hello?");

  // Outbound to one instance goes out with that bot's token only, and is confirmed on its delivery topic.
  await client.request(ControlMethods.PUBLISH, { topic: "plugin.outbound.telegram.sales-bot", payload: { chat_id: 7777, text: "Yes, in 3 days." } });
  await waitFor(() => seen.some((e) => e.topic === "plugin.delivery.telegram.sales-bot"), "the delivery event");
  assert.deepEqual(
    tg.sent(TOKENS.sales).map((m) => [m.chat_id, m.text]),
    [[7777, "Yes, in 3 days."]],
  );
  assert.deepEqual(tg.sent(TOKENS.support), []);
  const delivery = seen.find((e) => e.topic === "plugin.delivery.telegram.sales-bot")!;
  assert.deepEqual([(delivery.payload as any).ok, (delivery.payload as any).message_id], [true, tg.sent(TOKENS.sales)[0].message_id]);

  // The revoked bot: 401s, retried with backoff, logged without its token.
  await waitFor(() => tg.unauthorized >= 2, "the broken bot retrying");
  const broken = await runNexo(["plugin", "status", "telegram.broken-bot"], socket);
  assert.match(broken.stdout, /getUpdates failed: 401 Unauthorized; retrying in \d+ ms/);

  const status = await runNexo(["plugin", "status"], socket);
  const statusJson = await runNexo(["plugin", "status", "--json"], socket);
  assert.equal(status.code, 0, status.stderr);
  const stopped = await daemon.stop();
  assert.equal(stopped, 0, daemon.output());
  // The long poll asking past "hello?" was cut by the shutdown (50 s polls never finish in this test),
  // so the plugin confirmed once more: Telegram would not send anything again.
  assert.deepEqual(tg.polls(TOKENS.support).at(-1), { offset: (inbound()[2].payload as any).update_id + 1, timeout: 0 });
  assert.deepEqual(tg.pending(TOKENS.support), []);

  for (const [where, text] of [
    ["nexo plugin status", status.stdout],
    ["nexo plugin status --json", statusJson.stdout],
    ["the daemon's log", daemon.output()],
  ] as const) {
    assert.ok(text.includes("telegram.support-bot"), `${where} is about the bots`);
    for (const [name, token] of Object.entries(TOKENS)) {
      assert.ok(!text.includes(token), `the ${name} token appears in ${where}`);
      assert.ok(!text.includes(token.split(":")[1]), `the secret half of the ${name} token appears in ${where}`);
    }
  }
});

/**
 * A plugin with the example's manifest (same id, same channel) whose code tries
 * to speak and listen for the other instance, the way a compromised or buggy
 * bot process would. It reports each attempt's outcome on its own topic.
 */
const IMPOSTOR = `
import { readFileSync } from "node:fs";
import { Event, PluginAdapter } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, "packages", "plugin-sdk", "dist", "index.js")).href)};
const me = process.env.NEXO_PLUGIN_INSTANCE;
const other = me === "support-bot" ? "sales-bot" : "support-bot";
const adapter = new PluginAdapter({
  manifestToml: readFileSync("nexo-plugin.toml", "utf8"),
  onEvent: async (topic, event, broker) => {
    const attempt = async (fn) => { try { await fn(); return "ok"; } catch (e) { return "denied " + e.code; } };
    const say = (t) => broker.publishAcked(t, Event.new(t, "telegram", { from: me }));
    const report = {
      own: await attempt(() => say("plugin.inbound.telegram." + me)),
      other: await attempt(() => say("plugin.inbound.telegram." + other)),
      otherDelivery: await attempt(() => say("plugin.delivery.telegram." + other)),
      unlabelled: await attempt(() => say("plugin.inbound.telegram")),
      listenOther: await attempt(() => broker.subscribe("plugin.outbound.telegram." + other, async () => {})),
      listenAll: await attempt(() => broker.subscribe("plugin.outbound.telegram.>", async () => {})),
    };
    // The fire-and-forget form: nothing comes back, the host drops it.
    await broker.publish("plugin.inbound.telegram." + other, Event.new("plugin.inbound.telegram." + other, "telegram", { from: me }));
    const t = "plugin.inbound.telegram." + me + ".report";
    await broker.publish(t, Event.new(t, "telegram", { from: me, report }, { correlationId: event.correlation_id }));
  },
});
await adapter.run();
`;

test("telegram-bot-ts - the host keeps each instance to its own topics: instance A can neither publish on nor subscribe to instance B's", async (t) => {
  const root = tempDir(t);
  const pluginDir = join(root, "telegram-impostor");
  mkdirSync(pluginDir);
  const manifest = readFileSync(join(EXAMPLE, "nexo-plugin.toml"), "utf8");
  assert.match(manifest, /args = \["dist\/main.js"\]/);
  writeFileSync(join(pluginDir, "nexo-plugin.toml"), manifest.replace('args = ["dist/main.js"]', 'args = ["impostor.mjs"]'));
  writeFileSync(join(pluginDir, "impostor.mjs"), IMPOSTOR);
  const { daemon, broker } = await startExampleDaemon(t, EXAMPLE, {
    stateDir: join(root, "state"),
    edit: (raw) => {
      raw.plugin_paths = [root];
      raw.plugins.telegram = raw.plugins.telegram.map((i: { instance: string }) => ({ instance: i.instance }));
    },
  });
  assert.deepEqual(
    daemon.host
      .status()
      .map((s) => s.key)
      .sort(),
    ["telegram.sales-bot", "telegram.support-bot"],
  );
  const seen = collect(t, broker, "plugin.>").events;
  for (const who of ["support-bot", "sales-bot"]) {
    await broker.publish(`plugin.outbound.telegram.${who}`, { ...newEvent(`plugin.outbound.telegram.${who}`, "test", {}), correlation_id: who });
  }
  const reports = (): Event[] => seen.filter((e) => e.topic.endsWith(".report"));
  await waitFor(() => reports().length === 2, "both instances report");
  for (const r of reports()) {
    const who = (r.payload as { from: string }).from;
    assert.equal(r.topic, `plugin.inbound.telegram.${who}.report`);
    assert.deepEqual((r.payload as { report: unknown }).report, {
      own: "ok",
      other: "denied -32602",
      otherDelivery: "denied -32602",
      unlabelled: "denied -32602",
      listenOther: "denied -32602",
      listenAll: "denied -32602",
    });
  }
  // Nothing an instance sent landed on another instance's topics.
  const fromPlugins = seen.filter((e) => e.source.startsWith("telegram."));
  assert.equal(fromPlugins.length, 4, "two own messages and two reports");
  for (const e of fromPlugins) {
    const from = (e.payload as { from: string }).from;
    assert.ok(e.topic.startsWith(`plugin.inbound.telegram.${from}`), `${e.topic} came from ${from}`);
    assert.equal(e.source, `telegram.${from}`, "the host stamped the publishing instance");
  }
  // The fire-and-forget attempt is counted too (it follows the acked ones on the same pipe, before the report).
  for (const s of daemon.host.status()) assert.equal(s.deniedPublishes, 6, `${s.key}: 3 acked publishes, 1 notification, 2 subscriptions refused`);
});

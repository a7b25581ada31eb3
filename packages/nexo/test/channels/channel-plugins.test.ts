// Channels served by a real TS SDK plugin child: channel.start once ready (and
// again after a respawn), channel.send_outbound from app.channels.send and from
// outbound events (never also as broker.event), the -330xx errors typed, one
// owner per kind, and channel.stop before the plugin is shut down.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { normalizeConfig } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError, type NexoError } from "../../src/errors.js";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import type { MonitoringPlugin } from "../../src/plugins/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { writeFixtureManifest } from "../helpers/fixture-manifest.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

const TSX = import.meta.resolve("tsx");
const SCRIPT = fileURLToPath(new URL("../fixtures/plugins/channel-plugin.ts", import.meta.url));

/** A plugin dir running the TS SDK channel fixture, serving `kinds`. */
function channelPlugin(root: string, id: string, kinds: string[], log: string): PluginManifest {
  const dir = join(root, id);
  writeFixtureManifest(dir, {
    id,
    version: "0.1.0",
    name: "channel fixture",
    entrypoint: { command: process.execPath, args: ["--import", TSX, SCRIPT, dir], env: { CHANNEL_LOG: log } },
    extends: { channels: kinds },
    supervisor: { respawn: true, max_attempts: 3, backoff_ms: 50 },
  });
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

type Entry = { pid: number; call: string; kind?: string; instance?: string | null; msg?: Record<string, unknown>; topic?: string };
const readLog = (file: string): Entry[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Entry)
    : [];

async function rejection(p: Promise<unknown>): Promise<NexoError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isNexoError(err), `a NexoError, got ${String(err)}`);
    return err;
  }
  throw new Error("expected a rejection");
}

test("channels - a TS SDK channel plugin is started, sent to (typed -330xx errors), fed outbound events once, respawned and stopped", async (t) => {
  const dir = tempDir(t);
  const log = join(dir, "channel.log");
  channelPlugin(join(dir, "plugins"), "chatbot", ["chat"], log);
  // The instance comes from nexo.yaml, as an operator writes it.
  const config = normalizeConfig(
    {
      state_dir: join(dir, "state"),
      plugin_paths: [join(dir, "plugins")],
      plugins: { chatbot: [{ instance: "sales" }] },
      api: { enabled: false },
      in_process_plugins: { monitoring: { process_metrics: false } },
    },
    join(dir, "nexo.yaml"),
    dir,
  );
  const cap = captureLogger("info");
  const daemon = await Daemon.start(config, { logger: cap.logger, controlSocket: false });
  t.after(() => daemon.stop());
  const app = daemon.app;
  const monitoring = app.plugins.get<MonitoringPlugin>("monitoring")!;

  await t.test("channels - channel.start {kind, instance} reaches the plugin once it is ready", async () => {
    const [start] = (await waitFor(() => {
      const s = readLog(log).filter((e) => e.call === "start");
      return s.length ? s : undefined;
    }, "channel.start"))!;
    assert.deepEqual({ kind: start!.kind, instance: start!.instance }, { kind: "chat", instance: "sales" });
    await waitFor(() => app.channels.list().find((c) => c.kind === "chat")?.state === "started", "the channel listed as started");
    assert.deepEqual(
      app.channels.list().map(({ kind, instance, plugin, via }) => ({ kind, instance, plugin, via })),
      [{ kind: "chat", instance: "sales", plugin: "chatbot.sales", via: "send_outbound" }],
    );
    assert.deepEqual(app.host.get("chatbot.sales")!.status().channels, ["chat"], "nexo plugin status lists served kinds");
    const health = (await app.health()).services.find((x) => x.name === "channels");
    assert.equal(health?.status, "ok");
    assert.equal((health?.details as { channels: Array<{ state: string }> }).channels[0]!.state, "started");
  });

  await t.test("channels - app.channels.send answers the plugin's message id; -33004 and -33003 come back typed", async () => {
    const ok = await app.channels.send("chat", "sales", { kind: "text", to: "42", body: "hello" });
    assert.deepEqual(ok, { kind: "chat", instance: "sales", via: "send_outbound", message_id: "m-1", sent_at_unix: 1_700_000_001 });
    const sends = readLog(log).filter((e) => e.call === "send");
    assert.deepEqual(sends.at(-1)!.msg, { kind: "text", to: "42", body: "hello" });
    assert.equal(sends.at(-1)!.instance, "sales", "the instance travels in the params");

    const limited = await rejection(app.channels.send("chat", "sales", { kind: "text", to: "limited", body: "x" }));
    assert.equal(limited.code, ErrorCodes.CHANNEL_RATE_LIMITED);
    assert.equal(limited.details.rpcCode, -33004);
    assert.equal((limited.details.data as { retry_after_secs: number }).retry_after_secs, 7);
    assert.equal(limited.httpStatus, 429);

    const nobody = await rejection(app.channels.send("chat", "sales", { kind: "text", to: "nobody", body: "x" }));
    assert.equal(nobody.code, ErrorCodes.CHANNEL_RECIPIENT_INVALID);
    assert.equal((nobody.details.data as { recipient: string }).recipient, "nobody");

    assert.equal((await rejection(app.channels.send("chat", null, { kind: "text", to: "1", body: "x" }))).code, ErrorCodes.CHANNEL_NOT_FOUND, "no unlabelled chat plugin");
    assert.equal((await rejection(app.channels.send("fax", null, { kind: "text", to: "1", body: "x" }))).code, ErrorCodes.CHANNEL_NOT_FOUND);
    assert.equal((await rejection(app.channels.send("chat", "sales", { kind: "text", to: "1" }))).code, ErrorCodes.CHANNEL_INVALID_MESSAGE);
    assert.deepEqual(app.channels.stats(), { sent: 1, failed: 2, blocked: 0, events: 0 });
    const metrics = await monitoring.metricsText();
    assert.match(metrics, /nexo_channel_messages_total\{outcome="sent"\} 1/);
    assert.match(metrics, /nexo_channel_messages_total\{outcome="failed"\} 2/);
  });

  await t.test("channels - an outbound event is sent once through channel.send_outbound, never as broker.event, and its outcome is published", async () => {
    const statuses: Event[] = [];
    const sub = app.broker.subscribe("plugin.delivery.chat.>", (e) => void statuses.push(e));
    t.after(() => sub.unsubscribe());
    const topic = "plugin.outbound.chat.sales";
    const out = newEvent(topic, "test", { text: "from a workflow", to: "7" }, { sessionId: "s-1" });
    await app.broker.publish(topic, out);
    await app.broker.publish(topic, newEvent(topic, "test", { kind: "text", to: "limited", body: "again" }));
    await waitFor(() => statuses.length === 2, "two delivery statuses");
    // The two sends run side by side: their statuses may come back in either order.
    const sent = statuses.find((e) => (e.payload as { status: string }).status === "sent")!;
    const other = statuses.find((e) => e !== sent)!;
    assert.deepEqual(sent.payload, { status: "sent", message_id: "m-2", sent_at_unix: 1_700_000_002, kind: "chat", instance: "sales" });
    assert.equal(sent.correlation_id, out.id);
    assert.equal(sent.session_id, "s-1");
    assert.equal(sent.topic, "plugin.delivery.chat.sales");
    const failed = other.payload as { status: string; error: { code: string; rpc_code: number; retry_after_secs: number } };
    assert.equal(failed.status, "failed");
    assert.deepEqual([failed.error.code, failed.error.rpc_code, failed.error.retry_after_secs], [ErrorCodes.CHANNEL_RATE_LIMITED, -33004, 7]);
    // One more round trip through the plugin: a broker.event sent before it would be in the log by now.
    await app.channels.send("chat", "sales", { kind: "text", to: "1", body: "sync" });
    const entries = readLog(log);
    assert.equal(entries.filter((e) => e.call === "send" && (e.msg as { body?: string }).body === "from a workflow").length, 1, "sent exactly once");
    assert.deepEqual(
      entries.filter((e) => e.call === "event"),
      [],
      "no broker.event for a served channel's outbound topic",
    );
    assert.equal(app.host.get("chatbot.sales")!.status().delivered, 0, "the host forwarded no broker.event to it");
  });

  await t.test("channels - a before_outbound hook blocks a send and an outbound event before the plugin sees them, and rewrites others", async () => {
    const off = app.onHook("before_outbound", (e) => {
      if (e.body === "forbidden") return { decision: "block", reason: "policy" };
      if (e.body === "rude") return { decision: "transform", transformed_body: "polite" };
      return undefined;
    });
    const blocked = await rejection(app.channels.send("chat", "sales", { kind: "text", to: "1", body: "forbidden" }));
    assert.equal(blocked.code, ErrorCodes.HOOK_BLOCKED);
    assert.deepEqual(blocked.details.data as { by: string; reason: string }, { hook: "before_outbound", by: "app", reason: "policy" });
    const statuses: Event[] = [];
    const sub = app.broker.subscribe("plugin.delivery.chat.sales", (e) => void statuses.push(e));
    const topic = "plugin.outbound.chat.sales";
    await app.broker.publish(topic, newEvent(topic, "test", { text: "forbidden", to: "1" }));
    await app.broker.publish(topic, newEvent(topic, "test", { text: "rude", to: "1" }));
    await waitFor(() => statuses.length === 2, "two delivery statuses");
    assert.deepEqual(statuses.map((s) => (s.payload as { status: string }).status).sort(), ["blocked", "sent"]);
    const bodies = readLog(log)
      .filter((e) => e.call === "send")
      .map((e) => (e.msg as { body?: string }).body);
    assert.ok(!bodies.includes("forbidden"), "the plugin never saw a blocked message");
    assert.ok(bodies.includes("polite") && !bodies.includes("rude"), "the plugin got the rewritten body");
    off();
    sub.unsubscribe();
  });

  await t.test("channels - a second plugin serving the same kind is refused with a clear error", () => {
    const other = channelPlugin(join(dir, "plugins"), "rival", ["chat"], log);
    assert.throws(
      () => app.host.add({ manifest: other }),
      (err: NexoError) => err.code === ErrorCodes.HOST_CHANNEL_KIND_TAKEN && /already owns/.test(err.message) && (err.details.data as { owner: string }).owner === "chatbot",
    );
  });

  await t.test("channels - a plugin respawned by the supervisor gets channel.start again", async () => {
    const before = readLog(log).filter((e) => e.call === "start");
    const crashed = await rejection(app.channels.send("chat", "sales", { kind: "text", to: "crash", body: "x" }));
    assert.equal(crashed.code, ErrorCodes.CHANNEL_UNAVAILABLE);
    const after = (await waitFor(
      () => {
        const s = readLog(log).filter((e) => e.call === "start");
        return s.length > before.length ? s : undefined;
      },
      "channel.start after the respawn",
      20_000,
    ))!;
    assert.notEqual(after.at(-1)!.pid, before.at(-1)!.pid, "a new process");
    await waitFor(() => app.channels.list()[0]?.state === "started", "started again");
    const ok = await app.channels.send("chat", "sales", { kind: "text", to: "5", body: "after respawn" });
    assert.equal(ok.message_id, "m-1", "the new process counts from 1");
  });

  await t.test("channels - stopping the app sends channel.stop before the plugin's shutdown", async () => {
    const pid = readLog(log)
      .filter((e) => e.call === "start")
      .at(-1)!.pid;
    await daemon.stop();
    const mine = readLog(log)
      .filter((e) => e.pid === pid)
      .map((e) => e.call);
    assert.deepEqual(mine.slice(-2), ["stop", "shutdown"]);
  });
});

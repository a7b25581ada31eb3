// A channel plugin granted a wide publish pattern tries to speak for a channel
// kind it does not own (test/fixtures/plugins/sandbox-probe.mjs, whose `call`
// tool makes any host request).
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { PluginHost } from "../../src/host/index.js";
import { loadManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";

const PROBE = fileURLToPath(new URL("../fixtures/plugins/sandbox-probe.mjs", import.meta.url));

test("hostile - a plugin granted broker.publish:plugin.> still cannot publish inbound or delivery events for a channel kind it does not own", async (t) => {
  const root = tempDir(t, "nexo-ownership-");
  const dir = join(root, "spoofer");
  mkdirSync(dir, { recursive: true });
  copyFileSync(PROBE, join(dir, "probe.mjs"));
  writeFileSync(
    join(dir, "plugin.toml"),
    [
      "[plugin]",
      'id = "spoofer"',
      'version = "0.1.0"',
      "[plugin.entrypoint]",
      `command = "${process.execPath}"`,
      'args = ["probe.mjs"]',
      "[plugin.extends]",
      'tools = ["call", "echo"]',
      "[[plugin.channels.register]]",
      'kind = "mine"',
      "[plugin.capabilities.broker]",
      'publish = ["plugin.>"]',
      "[plugin.supervisor]",
      "respawn = false",
    ].join("\n"),
  );
  const { logger, lines } = captureLogger("info");
  const broker = new LocalBroker();
  const host = new PluginHost({
    broker,
    logger,
    nexoVersion: NEXO_VERSION,
    stateRoot: join(root, "state"),
    hostServices: {},
    sandbox: { require: false, allowHostNetwork: [], limits: {}, protectedPaths: [], enforcePermissions: false },
  });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  host.add({ manifest: loadManifest(dir, { nexoVersion: NEXO_VERSION }), grants: ["broker.publish:plugin.>"] });
  assert.deepEqual((await host.startAll()).failed, []);
  const seen: Event[] = [];
  broker.subscribe("plugin.>", (e) => void seen.push(e));
  const publish = async (topic: string) => {
    const event = {
      id: `0190a0a0-0000-7000-8000-00000000${String(seen.length + lines().length).padStart(4, "0")}`,
      timestamp: new Date().toISOString(),
      topic,
      source: "spoofer",
      session_id: null,
      payload: { text: "hi" },
    };
    const r = (await host.invokeTool("spoofer", { tool_name: "call", args: { method: "broker.publish", params: { topic, event } } }, 20_000)) as {
      content: Array<{ text: string }>;
    };
    return JSON.parse(r.content[0]!.text) as { result?: unknown; error?: { code: number; message: string } };
  };

  for (const topic of ["plugin.inbound.telegram", "plugin.inbound.telegram.sales", "plugin.delivery.telegram"]) {
    const r = await publish(topic);
    assert.match(r.error?.message ?? "", /does not own/, `${topic} is refused`);
  }
  assert.deepEqual((await publish("plugin.inbound.mine")).result, { ok: true }, "its own kind");
  assert.deepEqual((await publish("plugin.custom.note")).result, { ok: true }, "what the grant is for");
  assert.deepEqual(
    seen.map((e) => e.topic),
    ["plugin.inbound.mine", "plugin.custom.note"],
  );
  assert.equal(host.status()[0]!.deniedPublishes, 3);
  assert.ok(
    lines().some((l) => l.reason === "foreign_channel" && l.topic === "plugin.inbound.telegram"),
    "refused, counted and logged with its reason",
  );
});

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import type { Event } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";
import { hostilePlugin } from "../helpers/hostile-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

/** Frames the hostile plugin sends at least. */
const FLOOD_FRAMES = 1_000_000;
/** Most the daemon's RSS may grow over its level before the flood. */
const RSS_BOUND = 300 * 1024 * 1024;

/**
 * One daemon, one healthy echo plugin, one raw plugin writing a million
 * hostile lines of every kind: random bytes, invalid UTF-8, over-long lines,
 * nesting 129 to 100,000 deep in every frame position, wrong types, replies
 * to nothing, huge ids, unknown methods, forbidden topics and patterns.
 */
test("hostile - a million hostile frames beside an echo plugin: the daemon survives, echo keeps answering, memory stays bounded", async (t) => {
  const dir = tempDir(t);
  const plugins = join(dir, "plugins");
  hostilePlugin(plugins, { id: "hostile", mode: "flood", env: { HOSTILE_COUNT: String(FLOOD_FRAMES) }, supervisor: { respawn: false } });
  fixturePlugin(plugins, { id: "echo", mode: "echo", tools: ["echo"] });
  const file = join(dir, "nexo.yaml");
  writeFileSync(file, [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(plugins)}]`, "api:", "  enabled: false", ""].join("\n"));
  const cap = captureLogger("info");
  const daemon = await Daemon.start(loadConfig(file), { logger: cap.logger, controlSocket: false });
  t.after(() => daemon.stop());
  const done: Event[] = [];
  daemon.broker.subscribe("plugin.inbound.hostile", (e) => {
    if ((e.payload as { flood_done?: boolean } | null)?.flood_done) done.push(e);
  });

  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  t.after(() => clearInterval(sampler));

  // Round trips to the echo plugin for as long as the flood lasts.
  let answered = 0;
  const roundTrips = (async () => {
    while (done.length === 0) {
      const n = answered;
      const r = (await daemon.host.invokeTool("echo", { tool_name: "echo", args: { n } }, 10_000)) as { content: Array<{ text: string }> };
      assert.deepEqual(JSON.parse(r.content[0].text).args, { n });
      answered += 1;
    }
  })();

  // Parsing a million frames is CPU work: up to 90 s in a quiet clean-clone run (beside the other
  // heavy files), more beside other loads. The test is about surviving it, not its speed.
  await waitFor(() => done.length > 0, "the end of the flood", 300_000, 50);
  await roundTrips;
  clearInterval(sampler);

  const hostile = daemon.host.require("hostile").status();
  const sent = (done[0].payload as { frames: number }).frames;
  assert.ok(sent >= FLOOD_FRAMES, `${sent} frames sent`);
  assert.equal(hostile.state, "ready", "the hostile plugin was never restarted: no line made the host fail");
  assert.equal(hostile.ioFaults, 0);
  assert.equal(hostile.stdinStalls, 0);
  assert.ok(hostile.badFrames > FLOOD_FRAMES / 2, `${hostile.badFrames} bad frames counted`);
  assert.ok(hostile.deniedPublishes > 0);
  assert.ok(answered > 0, "echo answered during the flood");
  const after = (await daemon.host.invokeTool("echo", { tool_name: "echo", args: { after: true } })) as { content: Array<{ text: string }> };
  assert.deepEqual(JSON.parse(after.content[0].text).args, { after: true });
  assert.equal(daemon.host.require("echo").status().restarts, 0);
  assert.ok(rssPeak - rssBefore < RSS_BOUND, `RSS grew ${Math.round((rssPeak - rssBefore) / 1048576)} MiB`);
  // Every warning is throttled per plugin and reason: a million bad lines make a few dozen log lines.
  const lines = cap.lines().filter((l) => l.plugin === "hostile");
  assert.ok(lines.length < 400, `${lines.length} log lines about the hostile plugin`);
  t.diagnostic(
    `${sent} frames, ${hostile.badFrames} bad, ${hostile.deniedPublishes} denied, ${answered} echo round trips during the flood, RSS +${Math.round((rssPeak - rssBefore) / 1048576)} MiB, ${lines.length} log lines`,
  );
});

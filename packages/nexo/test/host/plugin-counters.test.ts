import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { MonitoringPlugin } from "../../src/plugins/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { hostilePlugin } from "../helpers/hostile-plugins.js";
import { runNexo, startNexoDaemon } from "../helpers/nexo-cli.js";
import { parsePromText, sampleValue } from "../helpers/prom-text.js";
import { waitFor } from "../helpers/wait.js";

test("host - bad frames and denied publishes are counted in /metrics", async (t) => {
  const root = tempDir(t);
  const { app } = testApp(t);
  await app.addPlugin(new MonitoringPlugin({ processMetrics: false }));
  app.host.add({ manifest: hostilePlugin(root, { id: "badlines", mode: "spam", env: { HOSTILE_SPAM: "bad", HOSTILE_COUNT: "1500" } }) });
  app.host.add({ manifest: hostilePlugin(root, { id: "denied", mode: "spam", env: { HOSTILE_SPAM: "denied", HOSTILE_COUNT: "700" } }) });
  await app.start();
  await waitFor(() => app.host.status().every((s) => s.published === 1), "both floods over (their markers published)");
  const res = await app.http.inject({ method: "GET", url: "/metrics" });
  const m = parsePromText(res.body);
  assert.equal(sampleValue(m, "nexo_plugin_bad_frames_total", { plugin: "badlines" }), 1500);
  assert.equal(sampleValue(m, "nexo_plugin_bad_frames_total", { plugin: "denied" }), 0);
  assert.equal(sampleValue(m, "nexo_plugin_denied_publishes_total", { plugin: "denied" }), 700);
  assert.equal(sampleValue(m, "nexo_plugin_stdin_stalls_total", { plugin: "denied" }), 0);
});

test("host - nexo plugin status shows a plugin's bad frames and denied publishes", async (t) => {
  const dir = tempDir(t);
  const plugins = join(dir, "plugins");
  hostilePlugin(plugins, { id: "spammer", mode: "spam", env: { HOSTILE_SPAM: "bad", HOSTILE_COUNT: "250" } });
  const config = join(dir, "nexo.yaml");
  writeFileSync(config, [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(plugins)}]`, "api:", "  enabled: false", ""].join("\n"));
  const env = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  startNexoDaemon(t, config);
  const status = await waitFor(
    async () => {
      const r = await runNexo(["plugin", "status", "spammer", "--json"], env);
      return r.code === 0 && JSON.parse(r.stdout).published === 1 ? JSON.parse(r.stdout) : undefined;
    },
    "the flood over",
    20_000,
    200,
  );
  assert.equal(status.badFrames, 250);
  assert.equal(status.deniedPublishes, 0);
  const text = await runNexo(["plugin", "status", "spammer"], env);
  assert.match(text.stdout, /frames: +250 bad, 0 stdin stalls, 0 host faults/);
});

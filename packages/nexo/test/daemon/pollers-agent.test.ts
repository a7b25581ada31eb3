import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { normalizeConfig } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { FakeFeeds } from "../helpers/fake-feeds.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";

test("daemon - a poller job with agent: runs that workflow once per new item, with the item as inputs; its metrics are on /metrics", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/orders.json", () => [
    { id: "o1", total: 5 },
    { id: "o2", total: 7 },
  ]);
  const dir = tempDir(t);
  const config = normalizeConfig(
    {
      state_dir: join(dir, "state"),
      api: { enabled: false },
      plugins: {},
      workflows: [],
      in_process_plugins: { monitoring: {} },
      pollers: {
        default_jitter_ms: 0,
        allow_private_networks: true,
        jobs: [{ id: "orders", kind: "webhook_poll", agent: "record_order", schedule: { every_secs: 3600 }, paused_on_boot: true, config: { url: feeds.url("/orders.json") } }],
      },
    },
    null,
    dir,
  );
  const seen: Array<{ inputs: unknown; channel: string; sessionId: string | null }> = [];
  const daemon = await Daemon.start(config, {
    logger: captureLogger().logger,
    configure: (app) => void app.register("record_order", (inputs, ctx) => void seen.push({ inputs, channel: ctx.channel, sessionId: ctx.sessionId })),
  });
  t.after(() => daemon.stop());
  const first = await daemon.pollers!.run("orders");
  assert.equal(first.status, "ok");
  assert.deepEqual(seen, [
    { inputs: { id: "o1", total: 5 }, channel: "poller", sessionId: "poller:orders" },
    { inputs: { id: "o2", total: 7 }, channel: "poller", sessionId: "poller:orders" },
  ]);
  await daemon.pollers!.run("orders");
  assert.equal(seen.length, 2, "items already delivered are not delivered again");
  const metrics = await daemon.app.http.inject({ method: "GET", url: "/metrics" });
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.body, /^nexo_poller_items_emitted_total\{job_id="orders",kind="webhook_poll"\} 2$/m);
});

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { loadConfig } from "../../../packages/nexo/src/config/index.js";
import { JobSchedule, POLLER_KIND_REGISTRY } from "../../../packages/nexo/src/pollers/index.js";

const CONFIG = fileURLToPath(new URL("../nexo.yaml", import.meta.url));

// The example polls public feeds, which tests must not reach: this checks that
// the files load and every job's config is one the daemon accepts (the daemon
// end to end runs against a loopback feed in packages/nexo/test/daemon/pollers-e2e.test.ts).
test("example pollers - nexo.yaml and pollers.yaml load, start no plugin, and every job's kind config is valid", () => {
  const config = loadConfig(CONFIG);
  assert.deepEqual(config.plugins, {});
  const pollers = config.pollers!;
  assert.equal(pollers.source, fileURLToPath(new URL("../pollers.yaml", import.meta.url)));
  assert.deepEqual(pollers.jobs.map((j) => [j.id, j.kind, j.topic]), [
    ["node_blog", "rss", "plugin.inbound.poller.node_blog"],
    ["node_releases_atom", "rss", "feeds.releases.node"],
    ["node_releases_json", "webhook_poll", "plugin.inbound.poller.node_releases_json"],
  ]);
  for (const job of pollers.jobs) {
    const parsed = POLLER_KIND_REGISTRY.get(job.kind)!.parse(job.config, {});
    assert.match((parsed as unknown as { url: string }).url, /^https:\/\//, job.id);
    assert.ok(Number.isFinite(new JobSchedule(job.schedule, pollers.defaultJitterMs).next(Date.now())), job.id);
  }
  assert.equal(pollers.jobs[2].pausedOnBoot, true);
});

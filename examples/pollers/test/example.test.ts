import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { loadConfig } from "../../../packages/nexo/src/config/index.js";
import { JobSchedule, POLLER_KIND_REGISTRY } from "../../../packages/nexo/src/pollers/index.js";
import { waitFor } from "../../../packages/nexo/test/helpers/wait.js";
import { collect, startExampleDaemon, tempDir, testBroker } from "../../test-support/index.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));
const CONFIG = fileURLToPath(new URL("../nexo.yaml", import.meta.url));
const SERVE_FEEDS = fileURLToPath(new URL("../serve-feeds.mjs", import.meta.url));

/** The example's own feed server on a free loopback port; its base URL. */
async function serveFeeds(t: TestContext): Promise<string> {
  const child = spawn(process.execPath, [SERVE_FEEDS, "0"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => void child.kill("SIGTERM"));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /feeds on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`serve-feeds.mjs exited ${code}`)));
  });
}

test("example pollers - nexo.yaml takes no port and starts no plugin; every job's config is valid and names only the local feeds", () => {
  const config = loadConfig(CONFIG);
  assert.deepEqual(config.plugins, {});
  assert.equal(config.api.enabled, false, "the example binds no HTTP port");
  const pollers = config.pollers!;
  assert.equal(pollers.source, fileURLToPath(new URL("../pollers.yaml", import.meta.url)));
  assert.deepEqual(
    pollers.jobs.map((j) => [j.id, j.kind, j.topic]),
    [
      ["blog", "rss", "plugin.inbound.poller.blog"],
      ["releases_atom", "rss", "feeds.releases"],
      ["releases_json", "webhook_poll", "plugin.inbound.poller.releases_json"],
    ],
  );
  for (const job of pollers.jobs) {
    const parsed = POLLER_KIND_REGISTRY.get(job.kind)!.parse(job.config, { FEEDS_URL: "http://127.0.0.1:8089" });
    assert.match((parsed as unknown as { url: string }).url, /^http:\/\/127\.0\.0\.1:8089\/[a-z_]+\.(xml|atom|json)$/, job.id);
    assert.ok(Number.isFinite(new JobSchedule(job.schedule, pollers.defaultJitterMs).next(Date.now())), job.id);
  }
  assert.equal(pollers.jobs[2].pausedOnBoot, true);
});

test("example pollers - offline end to end: the daemon from nexo.yaml polls serve-feeds.mjs on loopback and publishes each new item once", async (t) => {
  const feedsUrl = await serveFeeds(t);
  // pollers.yaml reads ${FEEDS_URL} from the daemon's environment, as `FEEDS_URL=... nexo run` would set it.
  process.env.FEEDS_URL = feedsUrl;
  t.after(() => void delete process.env.FEEDS_URL);
  const broker = testBroker(t);
  const { events } = collect(t, broker, "plugin.inbound.poller.>");
  const { daemon } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), broker });
  // `blog` runs at start-up (within its jitter); releases_json starts paused, releases_atom waits for its cron.
  await waitFor(() => events.length === 3, "the blog's three items", 20_000);
  assert.deepEqual(
    events.map((e) => [e.topic, (e.payload as { item_id: string }).item_id]),
    [
      ["plugin.inbound.poller.blog", "blog-1"],
      ["plugin.inbound.poller.blog", "blog-2"],
      ["plugin.inbound.poller.blog", "blog-3"],
    ],
    "oldest first",
  );
  // Resumed, the JSON job delivers its three releases; a second run finds nothing new.
  const pollers = daemon.pollers!;
  await pollers.resume("releases_json");
  await waitFor(() => events.length === 6, "the three releases", 20_000);
  for (const id of ["releases_json", "blog"]) {
    const again = await pollers.run(id);
    // serve-feeds.mjs answers the ETag sent back with 304: nothing to read, nothing new.
    assert.deepEqual([again.status, again.itemsEmitted], ["not_modified", 0], id);
  }
  assert.equal(events.length, 6, "nothing is delivered twice");
});

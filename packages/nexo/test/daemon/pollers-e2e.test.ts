import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pollerControlHandlers } from "../../src/surfaces/control/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { ControlMethods } from "../../src/surfaces/control/index.js";
import { FakeFeeds } from "../helpers/fake-feeds.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { runNexo, startNexoDaemon, startNexoTail } from "../helpers/nexo-cli.js";
import { waitFor } from "../helpers/wait.js";

test("daemon - nexo pollers list|run|pause|resume|reset against a running daemon polling a loopback feed", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json(
    "/news.json",
    () => [
      { id: "n1", title: "one" },
      { id: "n2", title: "two" },
    ],
    { etag: true },
  );
  const dir = tempDir(t);
  writeFileSync(
    join(dir, "pollers.yaml"),
    [
      "pollers:",
      "  default_jitter_ms: 0",
      "  allow_private_networks: true   # the feeds are on 127.0.0.1",
      "  jobs:",
      "    - id: news",
      "      kind: webhook_poll",
      "      schedule: { every_secs: 3600 }",
      "      paused_on_boot: true",
      `      config: { url: "${feeds.url("/news.json")}" }`,
      "    - id: broken",
      "      kind: rss",
      "      schedule: { every_secs: 3600 }",
      `      config: { url: "${feeds.url("/missing.xml")}" }`,
      "",
    ].join("\n"),
  );
  const config = join(dir, "nexo.yaml");
  writeFileSync(config, [`state_dir: ${join(dir, "state")}`, "api: { enabled: false }", "plugins: {}", "pollers: ./pollers.yaml", ""].join("\n"));
  const env = { NEXO_SOCKET: join(dir, "state", "nexo.sock") };
  const daemon = startNexoDaemon(t, config);
  type Job = { id: string; state: string; pauseReason: string | null; runs: number; itemsEmitted: number };
  const jobs = async (): Promise<Record<string, Job> | null> => {
    const r = await runNexo(["pollers", "list", "--json"], env);
    if (r.code !== 0) return null;
    return Object.fromEntries((JSON.parse(r.stdout) as { jobs: Job[] }).jobs.map((j) => [j.id, j]));
  };
  // `broken` runs at start-up, gets a 404 and pauses itself; `news` was paused on boot.
  const listed = await waitFor(
    async () => {
      const j = await jobs();
      return j && j.broken.state === "paused" ? j : null;
    },
    "the daemon's first poll",
    30_000,
    200,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.output()}`);
  });
  assert.match(listed.broken.pauseReason!, /NEXO_ERR_POLLER_HTTP_STATUS.*404/);
  assert.deepEqual([listed.news.state, listed.news.pauseReason], ["paused", "paused_on_boot"]);

  const table = await runNexo(["pollers", "list"], env);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /JOB\s+KIND\s+STATE/);
  assert.match(table.stdout, /news\s+webhook_poll\s+paused\s+every 3600s/);
  assert.match(table.stdout, /broken: paused: NEXO_ERR_POLLER_HTTP_STATUS/);

  const tail = await startNexoTail(t, "plugin.inbound.poller.>", 2, env);

  const run = await runNexo(["pollers", "run", "news"], env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^news: ok, 2 new of 2 items in \d+ ms\n$/);
  assert.equal(await tail.closed, 0);
  assert.deepEqual(
    tail.events().map((e) => [e.topic, e.payload.job_id, e.payload.item_id]),
    [
      ["plugin.inbound.poller.news", "news", "n1"],
      ["plugin.inbound.poller.news", "news", "n2"],
    ],
  );

  const resumed = await runNexo(["pollers", "resume", "news"], env);
  assert.equal(resumed.stdout, "news: active\n");
  // Resumed, it is due at once: the daemon runs it (a 304 now) without being asked.
  await waitFor(async () => ((await jobs())?.news.runs ?? 0) >= 2, "the resumed job's scheduled run", 30_000, 200);
  const paused = await runNexo(["pollers", "pause", "news", "--reason", "maintenance"], env);
  assert.equal(paused.stdout, "news: paused (maintenance)\n");
  const reset = await runNexo(["pollers", "reset", "news"], env);
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal(reset.stdout, "news: active\n");
  // Reset makes the job due at once, and having forgotten its seen ids, that run delivers both items again.
  await waitFor(async () => (await jobs())?.news.itemsEmitted === 4, "the reset job to deliver everything again", 30_000, 200);

  const missing = await runNexo(["pollers", "run", "nope"], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no poller job "nope".*\[NEXO_ERR_POLLER_NOT_FOUND\]/);
  const failing = await runNexo(["pollers", "run", "broken"], env);
  assert.equal(failing.code, 1);
  assert.match(failing.stdout, /broken: permanent, 0 new of 0 items .*\[NEXO_ERR_POLLER_HTTP_STATUS\]/);

  const closed = new Promise((r) => daemon.once("close", r));
  daemon.kill("SIGTERM");
  assert.equal(await closed, 0, daemon.output());
  assert.match(daemon.output(), /pollers stopped/);
});

test("daemon - without pollers configured, poller.list says so and the other poller methods fail with NEXO_ERR_POLLER_DISABLED", async () => {
  const handlers = pollerControlHandlers(null);
  assert.deepEqual(await handlers[ControlMethods.POLLER_LIST]({}, undefined as never), { enabled: false, source: null, jobs: [] });
  for (const m of [ControlMethods.POLLER_RUN, ControlMethods.POLLER_PAUSE, ControlMethods.POLLER_RESUME, ControlMethods.POLLER_RESET]) {
    assert.throws(
      () => handlers[m]({ id: "x" }, undefined as never),
      (e) => isNexoError(e, ErrorCodes.POLLER_DISABLED),
    );
  }
});

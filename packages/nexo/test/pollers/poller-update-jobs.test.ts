import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { silentLogger } from "../../src/log/index.js";
import { normalizePollersConfig, PollerService } from "../../src/pollers/index.js";
import { FakeFeeds } from "../helpers/fake-feeds.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const job = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
  id,
  kind: "webhook_poll",
  schedule: { every_secs: 3600 },
  allow_private_networks: true,
  config: { url },
  ...extra,
});

test("pollers - updateJobs: new jobs start, removed ones stop, a changed job keeps its seen items, an unchanged one is not touched", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/a.json", () => [{ id: 1 }, { id: 2 }]);
  feeds.json("/b.json", () => [{ id: 10 }]);
  const broker = new LocalBroker();
  t.after(() => broker.close());
  const events: Event[] = [];
  broker.subscribe("plugin.inbound.poller.>", (e) => void events.push(e), { bufferSize: 1000 });
  const section = (jobs: unknown[]) => normalizePollersConfig({ default_jitter_ms: 0, jobs }, null, "/");
  const svc = new PollerService({
    config: section([job("kept", feeds.url("/a.json")), job("changed", feeds.url("/b.json")), job("gone", feeds.url("/b.json"))]),
    broker,
    logger: silentLogger(),
    defaultStoreUrl: `sqlite:${join(tempDir(t), "p.db")}`,
    scheduling: false,
  });
  // Started twice at once (a service added to a running app is started for it): one start, both wait for it.
  await Promise.all([svc.start(), svc.start()]);
  t.after(() => svc.stop());
  for (const id of ["kept", "changed", "gone"]) assert.equal((await svc.run(id)).status, "ok");
  const before = (await svc.list()).find((j) => j.id === "kept");

  const next = section([job("kept", feeds.url("/a.json")), job("changed", feeds.url("/b.json"), { topic: "plugin.inbound.poller.moved" }), job("added", feeds.url("/a.json"))]);
  await svc.updateJobs(next.jobs);
  assert.deepEqual(svc.jobIds, ["kept", "changed", "added"]);
  assert.deepEqual(
    svc.config.jobs.map((j) => j.id),
    ["kept", "changed", "added"],
  );
  await assert.rejects(svc.run("gone"), (e: any) => e.code === "NEXO_ERR_POLLER_NOT_FOUND");
  assert.deepEqual(
    (await svc.list()).find((j) => j.id === "kept"),
    before,
    "the unchanged job's state and counters are as they were",
  );

  events.length = 0;
  // The changed job remembers item 10 (its seen ids are in the store, by job id): nothing new to deliver.
  const changed = await svc.run("changed");
  assert.equal(changed.status, "ok");
  assert.equal(changed.itemsEmitted, 0);
  // The added job has seen nothing yet.
  assert.equal((await svc.run("added")).itemsEmitted, 2);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    events.map((e) => e.topic),
    ["plugin.inbound.poller.added", "plugin.inbound.poller.added"],
  );
});

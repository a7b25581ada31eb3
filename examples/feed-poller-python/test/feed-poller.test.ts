// Pattern 4 end to end: the real Python poller under the daemon started from
// examples/feed-poller-python/nexo.yaml, polling a real HTTP feed on loopback.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import type { Event } from "../../../packages/nexo/src/contract/index.js";
import { collect, startExampleDaemon, tempDir, testBroker, waitFor, type RawConfig } from "../../test-support/index.js";
import { FakeFeed } from "./fake-feed.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));
const KEY = "feed_poller";

async function startFeed(t: TestContext): Promise<FakeFeed> {
  const feed = await FakeFeed.start();
  t.after(() => feed.close());
  return feed;
}

function pointAt(feed: FakeFeed, intervalSecs = 0.1): (raw: RawConfig) => void {
  return (raw) => {
    raw.plugins.feed_poller.config = { ...raw.plugins.feed_poller.config, feed_url: feed.url, interval_secs: intervalSecs };
  };
}

const ids = (events: Event[]): string[] => events.map((e) => (e.payload as { id: string }).id);

/**
 * Add `id` to the feed and wait until it is published. The poller publishes a
 * response's items in feed order, one poll after another, so anything old it
 * wrongly re-emitted would be on the broker before the new item: the events
 * since `from` must then be exactly the new one.
 */
async function expectOnlyNew(feed: FakeFeed, events: Event[], from: number, id: string): Promise<void> {
  feed.add(id);
  await waitFor(() => ids(events).includes(id), `item ${id} published`);
  assert.deepEqual(ids(events.slice(from)), [id], "nothing but the new item");
}

test("feed-poller-python - publishes each new item once; after a plugin restart and a daemon restart nothing old is emitted", async (t) => {
  const feed = await startFeed(t);
  for (const id of ["a", "b", "c"]) feed.add(id);
  const stateDir = tempDir(t);
  // Subscribed before the daemon starts: the poller publishes as soon as it is up,
  // which can be before startExampleDaemon returns.
  const firstBroker = testBroker(t);
  const { events } = collect(t, firstBroker, "plugin.inbound.feed.>");
  const all = collect(t, firstBroker, "plugin.inbound.feed").events;
  const first = await startExampleDaemon(t, EXAMPLE, { stateDir, edit: pointAt(feed), broker: firstBroker });

  await waitFor(() => all.length === 3, "the three initial items");
  assert.deepEqual(ids(all), ["a", "b", "c"]);
  assert.deepEqual(all[0].payload, feed.items[0], "the payload is the feed item itself");
  assert.equal(all[0].source, KEY);
  assert.equal(all[0].metadata?.feed_url, feed.url);

  // Steady state: the feed is unchanged, the poller asks with If-None-Match and gets 304s.
  await waitFor(() => feed.notModified >= 2, "conditional polls answered 304");
  await expectOnlyNew(feed, all, 3, "d");

  // A failing feed is retried; nothing is lost or repeated.
  feed.failNext = 2;
  const failedBefore = feed.requests;
  await waitFor(() => feed.failNext === 0 && feed.requests > failedBefore + 2, "two failed polls and a retry");
  await expectOnlyNew(feed, all, 4, "e");
  const tail = first.daemon.host.require(KEY).status().stderrTail.join("\n");
  assert.match(tail, /poll failed \(HTTP 500/);

  // Plugin restart through the host: the new process reads state.json.
  await first.daemon.host.restart(KEY);
  await expectOnlyNew(feed, all, 5, "f");

  // The file is written once the poll has handled every listed item, just after the publish.
  const pluginState = join(stateDir, "plugins", KEY);
  const readState = (): { seen: string[]; feed_url: string; etag: string } => JSON.parse(readFileSync(join(pluginState, "state.json"), "utf8"));
  await waitFor(() => readState().seen.includes("f"), "f saved in state.json");
  const state = readState();
  assert.deepEqual(state.seen, ["a", "b", "c", "d", "e", "f"]);
  assert.equal(state.feed_url, feed.url);
  assert.match(state.etag, /^"[0-9a-f]+"$/);
  assert.deepEqual(readdirSync(pluginState), ["state.json"], "no temp file is left behind");
  assert.deepEqual(events, [], "nothing on sub-topics");

  // Daemon restart on the same state dir.
  await first.stop();
  // Again subscribed first, so an old item re-emitted at start-up could not go unseen.
  const secondBroker = testBroker(t);
  const after = collect(t, secondBroker, "plugin.inbound.feed").events;
  await startExampleDaemon(t, EXAMPLE, { stateDir, edit: pointAt(feed), broker: secondBroker });
  await expectOnlyNew(feed, after, 0, "g");
  await waitFor(() => readState().seen.includes("g"), "g saved in state.json");
  assert.deepEqual(readState().seen, ["a", "b", "c", "d", "e", "f", "g"]);
});

test("feed-poller-python - SIGTERM and a shutdown request in the middle of a hung HTTP request both end the plugin with exit 0", async (t) => {
  const feed = await startFeed(t);
  feed.add("a");
  feed.hang = true;
  // A request timeout far beyond the test: only a reader that cannot hold up the exit lets the plugin go.
  const edit = (raw: RawConfig): void => {
    pointAt(feed)(raw);
    raw.plugins.feed_poller.config.timeout_secs = 120;
  };
  const { daemon, broker, stop } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), edit });
  const crashed = collect(t, broker, `plugin.lifecycle.${KEY}.crashed`).events;
  const sup = daemon.host.require(KEY);
  await waitFor(() => feed.hanging === 1, "the poller waiting on the hung feed");

  // The SDK's signal handling: SIGTERM drains and exits 0 although a request is open.
  process.kill(sup.status().pid!, "SIGTERM");
  await waitFor(() => crashed.length === 1, "the plugin's exit reported");
  assert.equal((crashed[0].payload as { exit_code: number | null }).exit_code, 0);
  assert.equal((crashed[0].payload as { signal: string | null }).signal, null);

  // The supervisor brings it back; it hangs on the feed again; the daemon stops it.
  await waitFor(() => sup.currentState === "ready" && feed.hanging === 1 && feed.requests === 2, "respawned and waiting on the feed again");
  await stop();
  const s = sup.status();
  assert.equal(s.lastExitCode, 0, s.stderrTail.join("\n"));
  assert.equal(s.lastSignal, null, "exited by itself within the grace, not killed");
  assert.match(s.stderrTail.join("\n"), /stopped polling; state saved/);
});

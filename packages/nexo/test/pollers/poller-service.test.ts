import assert from "node:assert/strict";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { Registry } from "prom-client";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { silentLogger } from "../../src/log/index.js";
import { normalizePollersConfig, PollerService, PollerStateStore, type PollerServiceOptions } from "../../src/pollers/index.js";
import { createStore } from "../../src/store/index.js";
import { ControlMethods, pollerControlHandlers } from "../../src/surfaces/control/index.js";
import { FakeFeeds, atomDoc, rssDoc } from "../helpers/fake-feeds.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

type Payload = { job_id: string; kind: string; item_id: string; item: any };

interface Harness {
  svc: PollerService;
  events: Array<Event<Payload>>;
  broker: LocalBroker;
  /** Resolves once the broker has handed every published event to the test's subscriber. */
  settle(): Promise<void>;
  storeUrl: string;
}

/** A started service (manual runs only unless `scheduling: true`) on a fresh SQLite file, its events collected. */
async function harness(t: TestContext, section: Record<string, unknown>, options: Partial<PollerServiceOptions> = {}, storeUrl?: string): Promise<Harness> {
  const broker = new LocalBroker();
  t.after(() => broker.close());
  const events: Array<Event<Payload>> = [];
  broker.subscribe("plugin.inbound.poller.>", (e) => void events.push(e as Event<Payload>), { bufferSize: 100_000 });
  broker.subscribe("feeds.>", (e) => void events.push(e as Event<Payload>), { bufferSize: 100_000 });
  const url = storeUrl ?? `sqlite:${join(tempDir(t), "pollers.db")}`;
  const config = normalizePollersConfig({ default_jitter_ms: 0, ...section }, null, "/");
  const svc = new PollerService({ config, broker, logger: silentLogger(), defaultStoreUrl: url, scheduling: false, ...options });
  await svc.start();
  t.after(() => svc.stop());
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  return { svc, events, broker, settle, storeUrl: url };
}

const jsonJob = (id: string, url: string, extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}) => ({
  id,
  kind: "webhook_poll",
  schedule: { every_secs: 60 },
  allow_private_networks: true,
  config: { url, ...config },
  ...extra,
});

test("pollers - webhook_poll: the first run delivers every item on plugin.inbound.poller.<id>; an unchanged feed is a 304 via If-None-Match; later only new items", async (t) => {
  const feeds = await FakeFeeds.start(t);
  const items = [
    { id: 1, title: "a" },
    { id: 2, title: "b" },
  ];
  feeds.json("/items.json", () => items, { etag: true });
  const h = await harness(t, { jobs: [jsonJob("news", feeds.url("/items.json"))] });

  const first = await h.svc.run("news");
  assert.equal(first.status, "ok");
  assert.equal(first.itemsEmitted, 2);
  await h.settle();
  assert.deepEqual(
    h.events.map((e) => [e.topic, e.source, e.payload.job_id, e.payload.kind, e.payload.item_id, e.payload.item.title]),
    [
      ["plugin.inbound.poller.news", "poller", "news", "webhook_poll", "1", "a"],
      ["plugin.inbound.poller.news", "poller", "news", "webhook_poll", "2", "b"],
    ],
  );

  const second = await h.svc.run("news");
  assert.equal(second.status, "not_modified");
  assert.equal(second.itemsEmitted, 0);
  const [, again] = feeds.hits("/items.json");
  assert.match(String(again.headers["if-none-match"]), /^"[0-9a-f]+"$/);

  items.push({ id: 3, title: "c" });
  const third = await h.svc.run("news");
  assert.deepEqual([third.status, third.itemsEmitted, third.itemsSeen], ["ok", 1, 3]);
  await h.settle();
  assert.deepEqual(
    h.events.map((e) => e.payload.item_id),
    ["1", "2", "3"],
  );
});

test("pollers - webhook_poll: Last-Modified comes back as If-Modified-Since; POST body, ${ENV} headers, nested items_path and id_field reach the server", async (t) => {
  const feeds = await FakeFeeds.start(t);
  const modified = "Tue, 10 Mar 2026 12:00:00 GMT";
  feeds.json(
    "/search",
    () => ({
      data: {
        issues: [
          { key: { id: "A-1" }, n: 1 },
          { key: { id: "A-2" }, n: 2 },
        ],
      },
    }),
    { lastModified: () => modified },
  );
  const h = await harness(
    t,
    {
      jobs: [
        jsonJob(
          "jira",
          feeds.url("/search"),
          { topic: "feeds.jira" },
          { method: "POST", body: { jql: "assignee = me" }, headers: { Authorization: "Bearer ${JIRA_TOKEN}" }, items_path: "data.issues", id_field: "key.id" },
        ),
      ],
    },
    { env: { JIRA_TOKEN: "tok-123" } },
  );
  assert.equal((await h.svc.run("jira")).itemsEmitted, 2);
  assert.equal((await h.svc.run("jira")).status, "not_modified");
  const [first, second] = feeds.hits("/search");
  assert.equal(first.method, "POST");
  assert.deepEqual(JSON.parse(first.body), { jql: "assignee = me" });
  assert.equal(first.headers.authorization, "Bearer tok-123");
  assert.equal(second.headers["if-modified-since"], modified);
  await h.settle();
  assert.deepEqual(
    h.events.map((e) => [e.topic, e.payload.item_id]),
    [
      ["feeds.jira", "A-1"],
      ["feeds.jira", "A-2"],
    ],
  );
});

test("pollers - a restarted service on the same store delivers nothing old", async (t) => {
  const feeds = await FakeFeeds.start(t);
  const items = [{ id: "x" }, { id: "y" }];
  // No validators: the restarted service really fetches and must dedupe from the stored ring.
  feeds.json("/feed", () => items);
  const section = { jobs: [jsonJob("feed", feeds.url("/feed"))] };
  const first = await harness(t, section);
  assert.equal((await first.svc.run("feed")).itemsEmitted, 2);
  await first.svc.stop();
  const second = await harness(t, section, {}, first.storeUrl);
  items.push({ id: "z" });
  const r = await second.svc.run("feed");
  assert.deepEqual([r.status, r.itemsEmitted, r.itemsSeen], ["ok", 1, 3]);
  await second.settle();
  assert.deepEqual(
    second.events.map((e) => e.payload.item_id),
    ["z"],
  );
});

test("pollers - rss and atom: entries are delivered oldest first with guid / id / link ids, then only new ones", async (t) => {
  const feeds = await FakeFeeds.start(t);
  const rssItems = [
    { guid: "g1", title: "one" },
    { title: "two", link: "https://blog.test/2" },
  ];
  const atomEntries: Parameters<typeof atomDoc>[0] = [{ id: "urn:a:1", title: "alpha", href: "https://a.test/1" }];
  feeds.xml("/rss.xml", () => rssDoc(rssItems));
  feeds.xml("/atom.xml", () => atomDoc(atomEntries), "application/atom+xml");
  const rssJob = { id: "blog", kind: "rss", schedule: { every_secs: 60 }, config: { feed_url: feeds.url("/rss.xml"), allow_private_networks: true } };
  const atomJob = { id: "atom", kind: "rss", schedule: { every_secs: 60 }, allow_private_networks: true, config: { url: feeds.url("/atom.xml") } };
  const h = await harness(t, { jobs: [rssJob, atomJob] });
  assert.equal((await h.svc.run("blog")).itemsEmitted, 2);
  assert.equal((await h.svc.run("atom")).itemsEmitted, 1);
  await h.settle();
  assert.deepEqual(
    h.events.map((e) => [e.payload.job_id, e.payload.item_id, e.payload.item.title]),
    [
      ["blog", "g1", "one"],
      ["blog", "https://blog.test/2", "two"],
      ["atom", "urn:a:1", "alpha"],
    ],
  );
  assert.deepEqual(h.events[2].payload.item.feed, { title: "Fake Atom", link: "http://example.test/atom" });
  assert.equal(h.events[2].payload.item.author, "Ada");
  assert.equal((await h.svc.run("blog")).status, "not_modified");
  rssItems.push({ guid: "g3", title: "three" });
  atomEntries.push({ id: "urn:a:2", title: "beta" });
  assert.equal((await h.svc.run("blog")).itemsEmitted, 1);
  assert.equal((await h.svc.run("atom")).itemsEmitted, 1);
  await h.settle();
  assert.deepEqual(
    h.events.slice(3).map((e) => e.payload.item_id),
    ["g3", "urn:a:2"],
  );
});

test("pollers - agent jobs: each new item goes to the broker and to deliverToAgent; a failed delivery leaves the item unseen and the next run retries it", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/leads", () => [{ id: "l1" }, { id: "l2" }], { etag: true });
  const calls: Array<{ agent: string; id: string; data: unknown; eventId: string; job: unknown }> = [];
  let failOn: string | null = "l2";
  const deliverToAgent = async (agent: string, item: { id: string; data: unknown; eventId: string }, job: unknown): Promise<void> => {
    if (item.id === failOn) throw new Error("workflow unavailable");
    calls.push({ agent, ...item, job });
  };
  const h = await harness(t, { jobs: [jsonJob("leads", feeds.url("/leads"), { agent: "ana" })] }, { deliverToAgent });
  const first = await h.svc.run("leads");
  assert.equal(first.status, "transient");
  assert.equal(first.error?.class, "delivery");
  assert.equal(first.error?.code, ErrorCodes.POLLER_DELIVERY_FAILED);
  assert.equal(first.itemsEmitted, 1);
  await h.settle();
  assert.deepEqual(
    calls.map((c) => [c.agent, c.id]),
    [["ana", "l1"]],
  );
  assert.deepEqual(calls[0].job, { id: "leads", kind: "webhook_poll", agent: "ana", topic: "plugin.inbound.poller.leads" });
  assert.equal(calls[0].eventId, h.events[0].id);
  assert.deepEqual(h.events[0].metadata, { agent: "ana" });
  failOn = null;
  // The ETag was not kept (l2 is still owed), so the server sends the full body again.
  const second = await h.svc.run("leads");
  assert.deepEqual([second.status, second.itemsEmitted], ["ok", 1]);
  assert.deepEqual(
    calls.map((c) => c.id),
    ["l1", "l2"],
  );
  assert.equal((await h.svc.run("leads")).status, "not_modified");
});

test("pollers - an agent job in a daemon without deliverToAgent is paused with the reason; its siblings run", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/a", () => [{ id: 1 }]);
  const h = await harness(t, { jobs: [jsonJob("to_agent", feeds.url("/a"), { agent: "ana" }), jsonJob("to_topic", feeds.url("/a"))] });
  const [agentJob, topicJob] = await h.svc.list();
  assert.equal(agentJob.state, "paused");
  assert.match(agentJob.pauseReason ?? "", /NEXO_ERR_POLLER_INVALID_CONFIG.*agent/);
  assert.equal(topicJob.state, "active");
  assert.equal((await h.svc.run("to_topic")).itemsEmitted, 1);
  assert.equal((await h.svc.run("to_agent", { force: false })).status, "skipped_paused");
  assert.equal(feeds.hits("/a").length, 1);
});

test("pollers - a 500ing feed backs off with jitter, opens the breaker at breaker_threshold, skips while open, probes half-open and closes on success", async (t) => {
  const feeds = await FakeFeeds.start(t);
  let broken = true;
  feeds.route("/flaky", (_req, res) => (broken ? res.writeHead(500).end("down") : res.writeHead(200, { "content-type": "application/json" }).end('[{"id":"ok"}]')));
  let clock = Date.parse("2026-03-10T12:00:00Z");
  const registry = new Registry();
  const h = await harness(
    t,
    { breaker_threshold: 3, breaker_cooldown_secs: 60, jobs: [jsonJob("flaky", feeds.url("/flaky"), { schedule: { every_secs: 0.1 } })] },
    { now: () => clock, random: () => 0, registry },
  );
  const due = async (): Promise<ReturnType<PollerService["run"]>> => {
    const [s] = await h.svc.list();
    if (s.nextRunAt) clock = Math.max(clock, Date.parse(s.nextRunAt));
    return h.svc.run("flaky", { force: false });
  };

  const r1 = await due();
  assert.deepEqual([r1.status, r1.error?.class, r1.error?.code], ["transient", "http_5xx", ErrorCodes.POLLER_HTTP_STATUS]);
  // Backoff: base 1 s with equal jitter (random = 0 gives half), longer than the 0.1 s interval.
  assert.equal(Date.parse(r1.nextRunAt!), clock + 500);
  const r2 = await due();
  assert.equal(Date.parse(r2.nextRunAt!), clock + 1000);
  const r3 = await due();
  assert.equal(Date.parse(r3.nextRunAt!), clock + 60_000);
  let [s] = await h.svc.list();
  assert.deepEqual([s.state, s.breaker, s.consecutiveErrors], ["breaker_open", "open", 3]);
  assert.match(await registry.metrics(), /nexo_poller_breaker_state\{job_id="flaky"\} 2/);

  clock += 30_000;
  assert.equal((await h.svc.run("flaky", { force: false })).status, "skipped_breaker");
  assert.equal(feeds.hits("/flaky").length, 3);

  // The half-open probe fails: open again for twice as long.
  const probe = await due();
  assert.equal(probe.status, "transient");
  assert.equal(Date.parse(probe.nextRunAt!), clock + 120_000);
  broken = false;
  const healed = await due();
  assert.deepEqual([healed.status, healed.itemsEmitted], ["ok", 1]);
  [s] = await h.svc.list();
  assert.deepEqual([s.state, s.breaker, s.consecutiveErrors], ["active", "closed", 0]);
  assert.match(await registry.metrics(), /nexo_poller_breaker_state\{job_id="flaky"\} 0/);
  assert.equal(s.errors.http_5xx, 4);
});

test("pollers - 429 with Retry-After and a network failure are transient; Retry-After sets the next run", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.status("/limited", 429, { "retry-after": "7" });
  const clock = 1_000_000;
  const h = await harness(
    t,
    { jobs: [jsonJob("limited", feeds.url("/limited")), jsonJob("gone", "http://127.0.0.1:1/nothing-listens-here")] },
    { now: () => clock, random: () => 0 },
  );
  const r = await h.svc.run("limited");
  assert.deepEqual([r.status, r.error?.class], ["transient", "http_429"]);
  assert.equal(Date.parse(r.nextRunAt!), Math.max(clock + 60_000, clock + 7000));
  const net = await h.svc.run("gone");
  assert.deepEqual([net.status, net.error?.class, net.error?.code], ["transient", "network", ErrorCodes.POLLER_FETCH_FAILED]);
});

test("pollers - permanent errors pause the job with the reason (404, a 2xx body that is not JSON, an invalid kind config); siblings keep running; resume runs again", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.route("/html", (_q, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>not json</html>"));
  feeds.json("/fine", () => [{ id: 1 }]);
  const h = await harness(t, {
    jobs: [
      jsonJob("missing", feeds.url("/does-not-exist")),
      jsonJob("html", feeds.url("/html")),
      { id: "broken", kind: "webhook_poll", schedule: { every_secs: 60 }, config: { items_path: "x" } },
      jsonJob("fine", feeds.url("/fine")),
    ],
  });
  const missing = await h.svc.run("missing");
  assert.deepEqual([missing.status, missing.error?.class], ["permanent", "http_4xx"]);
  const html = await h.svc.run("html");
  assert.deepEqual([html.status, html.error?.class, html.error?.code], ["permanent", "parse", ErrorCodes.POLLER_PARSE]);
  assert.equal((await h.svc.run("fine")).status, "ok");
  const byId = Object.fromEntries((await h.svc.list()).map((s) => [s.id, s]));
  assert.equal(byId.missing.state, "paused");
  assert.match(byId.missing.pauseReason!, /^NEXO_ERR_POLLER_HTTP_STATUS: 127\.0\.0\.1:\d+ answered 404/);
  assert.match(byId.html.pauseReason!, /^NEXO_ERR_POLLER_PARSE/);
  assert.match(byId.broken.pauseReason!, /^NEXO_ERR_POLLER_INVALID_CONFIG: invalid webhook_poll config: \/url: is required/);
  assert.equal(byId.fine.state, "active");

  assert.equal((await h.svc.run("missing", { force: false })).status, "skipped_paused");
  assert.equal(feeds.hits("/does-not-exist").length, 1);
  feeds.json("/does-not-exist", () => [{ id: "back" }]);
  const resumed = await h.svc.resume("missing");
  assert.deepEqual([resumed.state, resumed.pauseReason], ["active", null]);
  assert.deepEqual((await h.svc.run("missing", { force: false })).itemsEmitted, 1);
  // An invalid config stays paused after a resume: its next run fails the same way.
  await h.svc.resume("broken");
  const again = await h.svc.run("broken");
  assert.deepEqual([again.status, again.error?.code], ["permanent", ErrorCodes.POLLER_INVALID_CONFIG]);
});

test("pollers - loopback and private targets are refused unless allowed (a literal IP and a name that resolves to loopback), and nothing is fetched", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/internal", () => [{ id: 1 }]);
  const guarded = (id: string, url: string) => ({ id, kind: "webhook_poll", schedule: { every_secs: 60 }, config: { url } });
  const h = await harness(t, {
    jobs: [
      guarded("by_ip", feeds.url("/internal")),
      guarded("by_name", `http://localhost:${feeds.port}/internal`),
      guarded("metadata", "http://169.254.169.254/latest/meta-data/"),
    ],
  });
  for (const id of ["by_ip", "by_name", "metadata"]) {
    const r = await h.svc.run(id);
    assert.deepEqual([r.status, r.error?.class, r.error?.code], ["permanent", "private_network", ErrorCodes.POLLER_PRIVATE_NETWORK], id);
    assert.match(r.error!.message, /allow_private_networks/);
  }
  assert.equal(feeds.hits("/internal").length, 0);
});

test("pollers - a slow feed never holds up the others, and its run ends at timeout_secs as a transient timeout", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.hold("/slow");
  const fast: Array<{ id: number }> = [];
  feeds.json("/fast", () => fast);
  const h = await harness(
    t,
    {
      max_concurrency: 2,
      jobs: [
        // Paused so only the test's own runs touch them (a manual run ignores the pause).
        jsonJob("slow", feeds.url("/slow"), { timeout_secs: 60, paused_on_boot: true }),
        jsonJob("slow2", feeds.url("/slow"), { timeout_secs: 0.3, paused_on_boot: true }),
        jsonJob("fast", feeds.url("/fast"), { schedule: { every_secs: 0.02 } }),
      ],
    },
    { scheduling: true },
  );
  const slowRun = h.svc.run("slow");
  await waitFor(() => feeds.pending >= 1, "the slow feed's request to arrive");
  for (let i = 1; i <= 3; i++) {
    fast.push({ id: i });
    await waitFor(() => h.events.filter((e) => e.payload.job_id === "fast").length === i, `fast item ${i}`);
  }
  // The slow run is still waiting for its answer while the fast job kept delivering.
  assert.equal(h.svc.stats().find((s) => s.id === "slow")!.state, "running");
  const timedOut = await h.svc.run("slow2");
  assert.deepEqual([timedOut.status, timedOut.error?.class, timedOut.error?.code], ["transient", "timeout", ErrorCodes.POLLER_TIMEOUT]);
  feeds.release();
  assert.equal((await slowRun).status, "ok");
});

test("pollers - response bodies are bounded after decompression (a small gzip that expands is refused, permanent)", async (t) => {
  const feeds = await FakeFeeds.start(t);
  const big = Array.from({ length: 5000 }, (_, i) => ({ id: i, pad: "x".repeat(100) }));
  feeds.json("/big.json", () => big, { gzip: true });
  feeds.json("/small.json", () => big.slice(0, 3), { gzip: true });
  const h = await harness(t, {
    jobs: [jsonJob("big", feeds.url("/big.json"), {}, { max_body_bytes: 100_000 }), jsonJob("small", feeds.url("/small.json"), {}, { max_body_bytes: 100_000 })],
  });
  const r = await h.svc.run("big");
  assert.deepEqual([r.status, r.error?.class, r.error?.code], ["permanent", "body_too_large", ErrorCodes.POLLER_BODY_TOO_LARGE]);
  assert.equal((await h.svc.run("small")).itemsEmitted, 3);
});

test("pollers - max_per_tick spreads a backlog over runs, and the ETag is kept only once nothing is owed; the seen ring is bounded", async (t) => {
  const feeds = await FakeFeeds.start(t);
  const items = Array.from({ length: 5 }, (_, i) => ({ id: `i${i}` }));
  feeds.json("/backlog", () => items, { etag: true });
  const log = captureLogger();
  const h = await harness(t, { jobs: [jsonJob("backlog", feeds.url("/backlog"), {}, { max_per_tick: 2, seen_capacity: 6 })] }, { logger: log.logger });
  assert.deepEqual([(await h.svc.run("backlog")).itemsEmitted, (await h.svc.run("backlog")).itemsEmitted, (await h.svc.run("backlog")).itemsEmitted], [2, 2, 1]);
  assert.equal((await h.svc.run("backlog")).status, "not_modified");
  const hits = feeds.hits("/backlog");
  // Validators are sent only after the run that delivered the last owed item.
  assert.deepEqual(
    hits.map((r) => r.headers["if-none-match"] !== undefined),
    [false, false, false, true],
  );
  items.push({ id: "i5" }, { id: "i6" });
  assert.equal((await h.svc.run("backlog")).itemsEmitted, 2);
  await h.settle();
  assert.deepEqual(
    h.events.map((e) => e.payload.item_id),
    ["i0", "i1", "i2", "i3", "i4", "i5", "i6"],
  );
  const store = await createStore(h.storeUrl);
  t.after(() => store.close());
  assert.deepEqual((await new PollerStateStore(store).load("backlog")).seenIds, ["i1", "i2", "i3", "i4", "i5", "i6"]);
  assert.ok(log.lines().some((l) => /more items than the seen-id ring/.test(l.msg) && l.seen_capacity === 6));
});

test("pollers - reset forgets the seen ids (every item is delivered again) and is refused while a run holds the lease", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/r", () => [{ id: 1 }, { id: 2 }], { etag: true });
  feeds.hold("/held");
  const h = await harness(t, { jobs: [jsonJob("r", feeds.url("/r")), jsonJob("held", feeds.url("/held"))] });
  assert.equal((await h.svc.run("r")).itemsEmitted, 2);
  assert.equal((await h.svc.run("r")).status, "not_modified");
  await h.svc.reset("r");
  assert.equal((await h.svc.run("r")).itemsEmitted, 2);
  const running = h.svc.run("held");
  await waitFor(() => feeds.pending === 1, "held request");
  await assert.rejects(h.svc.reset("held"), (e) => isNexoError(e, ErrorCodes.POLLER_BUSY));
  feeds.release();
  await running;
  await h.svc.reset("held");
});

test("pollers - metrics: stats() and the prom-client registry count runs by outcome, items, errors by class, breaker, pause and last success", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/m", () => [{ id: 1 }, { id: 2 }], { etag: true });
  feeds.status("/e", 503);
  const registry = new Registry();
  const h = await harness(t, { jobs: [jsonJob("m", feeds.url("/m")), jsonJob("e", feeds.url("/e"))] }, { registry });
  await h.svc.run("m");
  await h.svc.run("m");
  await h.svc.run("e");
  const stats = Object.fromEntries(h.svc.stats().map((s) => [s.id, s]));
  assert.equal(stats.m.runs, 2);
  assert.equal(stats.m.itemsEmitted, 2);
  assert.equal(stats.m.lastStatus, "not_modified");
  assert.ok(stats.m.lastSuccessAt);
  assert.equal(typeof stats.m.lastLatencyMs, "number");
  assert.deepEqual(stats.e.errors, { http_5xx: 1 });
  const text = await registry.metrics();
  assert.match(text, /nexo_poller_runs_total\{job_id="m",kind="webhook_poll",outcome="ok"\} 1/);
  assert.match(text, /nexo_poller_runs_total\{job_id="m",kind="webhook_poll",outcome="not_modified"\} 1/);
  assert.match(text, /nexo_poller_items_emitted_total\{job_id="m",kind="webhook_poll"\} 2/);
  assert.match(text, /nexo_poller_errors_total\{job_id="e",kind="webhook_poll",class="http_5xx"\} 1/);
  assert.match(text, /nexo_poller_run_duration_seconds_count\{job_id="m",kind="webhook_poll"\} 2/);
  assert.match(text, /nexo_poller_last_success_timestamp_seconds\{job_id="m"\} \d+/);
  assert.match(text, /nexo_poller_paused\{job_id="e"\} 0/);
  await h.svc.pause("e", "maintenance");
  assert.match(await registry.metrics(), /nexo_poller_paused\{job_id="e"\} 1/);
  // A second service on the same registry reuses the series instead of failing to register them.
  const other = new PollerService({ config: normalizePollersConfig({ jobs: [] }, null, "/"), broker: h.broker, logger: silentLogger(), registry, scheduling: false });
  assert.equal(other.registry, registry);
});

test("pollers - stop aborts a run in flight without counting an error, and frees its lease for another daemon", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.hold("/held");
  const section = { jobs: [jsonJob("held", feeds.url("/held"))] };
  const a = await harness(t, section);
  const running = a.svc.run("held");
  await waitFor(() => feeds.pending === 1, "held request");
  await a.svc.stop();
  const r = await running;
  assert.equal(r.status, "aborted");
  assert.deepEqual(a.svc.stats()[0].errors, {});
  const b = await harness(t, section, {}, a.storeUrl);
  feeds.json("/held", () => [{ id: 1 }]);
  assert.equal((await b.svc.run("held")).status, "ok");
});

test("pollers - scheduled jobs run on every_secs; paused_on_boot jobs wait until resumed; a cron job waits for its instant", async (t) => {
  const feeds = await FakeFeeds.start(t);
  const tickItems: Array<{ id: number }> = [];
  feeds.json("/tick", () => tickItems);
  feeds.json("/later", () => [{ id: "later" }]);
  feeds.json("/cron", () => [{ id: "cron" }]);
  const h = await harness(
    t,
    {
      jobs: [
        jsonJob("tick", feeds.url("/tick"), { schedule: { every_secs: 0.02 } }),
        jsonJob("later", feeds.url("/later"), { schedule: { every_secs: 0.02 }, paused_on_boot: true }),
        jsonJob("cron", feeds.url("/cron"), { schedule: { cron: "0 0 1 1 *", tz: "Europe/Madrid" } }),
      ],
    },
    { scheduling: true },
  );
  tickItems.push({ id: 1 });
  await waitFor(() => h.events.some((e) => e.payload.job_id === "tick"), "a scheduled run");
  tickItems.push({ id: 2 });
  await waitFor(() => h.events.filter((e) => e.payload.job_id === "tick").length === 2, "a later scheduled run");
  const [, later, cron] = await h.svc.list();
  assert.deepEqual([later.state, later.pauseReason], ["paused", "paused_on_boot"]);
  assert.equal(feeds.hits("/later").length, 0);
  assert.equal(cron.schedule, "cron 0 0 1 1 * (Europe/Madrid)");
  await h.svc.resume("later");
  await waitFor(() => h.events.some((e) => e.payload.job_id === "later"), "the resumed job to run");
  // The cron job's first instant is next New Year: its first scheduled run is its first run.
  const first = await h.svc.run("cron");
  assert.match(first.nextRunAt!, /-12-31T23:00:00\.000Z$/);
});

test("pollers - control handlers: list, run, pause, resume, reset; unknown ids are NEXO_ERR_POLLER_NOT_FOUND, a missing id NEXO_ERR_CONTROL_BAD_REQUEST", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/c", () => [{ id: 1 }]);
  const log = captureLogger();
  const h = await harness(t, { jobs: [jsonJob("c", feeds.url("/c"))] }, { logger: log.logger });
  const handlers = pollerControlHandlers(h.svc);
  const list = (await handlers[ControlMethods.POLLER_LIST]({}, undefined as never)) as { enabled: boolean; jobs: Array<{ id: string }> };
  assert.equal(list.enabled, true);
  assert.deepEqual(
    list.jobs.map((j) => j.id),
    ["c"],
  );
  assert.equal(((await handlers[ControlMethods.POLLER_RUN]({ id: "c" }, undefined as never)) as { itemsEmitted: number }).itemsEmitted, 1);
  assert.equal(((await handlers[ControlMethods.POLLER_PAUSE]({ id: "c", reason: "why not" }, undefined as never)) as { pauseReason: string }).pauseReason, "why not");
  assert.equal(((await handlers[ControlMethods.POLLER_RESUME]({ id: "c" }, undefined as never)) as { state: string }).state, "active");
  assert.equal(((await handlers[ControlMethods.POLLER_RESET]({ id: "c" }, undefined as never)) as { state: string }).state, "active");
  await assert.rejects(
    async () => handlers[ControlMethods.POLLER_RUN]({ id: "nope" }, undefined as never),
    (e) => isNexoError(e, ErrorCodes.POLLER_NOT_FOUND),
  );
  await assert.rejects(
    async () => handlers[ControlMethods.POLLER_PAUSE]({}, undefined as never),
    (e) => isNexoError(e, ErrorCodes.CONTROL_BAD_REQUEST),
  );
  assert.ok(log.lines().some((l) => l.msg === "pollers started"));
});

test("pollers - a disabled section (enabled: false) opens no store and runs nothing; its control methods say so", async (t) => {
  const feeds = await FakeFeeds.start(t);
  feeds.json("/d", () => [{ id: 1 }]);
  const h = await harness(t, { enabled: false, jobs: [jsonJob("d", feeds.url("/d"))] }, { scheduling: true, defaultStoreUrl: "postgres://nobody@127.0.0.1:1/none" });
  const handlers = pollerControlHandlers(h.svc);
  assert.deepEqual(await handlers[ControlMethods.POLLER_LIST]({}, undefined as never), { enabled: false, source: null, jobs: [] });
  assert.throws(
    () => handlers[ControlMethods.POLLER_RUN]({ id: "d" }, undefined as never),
    (e) => isNexoError(e, ErrorCodes.POLLER_DISABLED),
  );
  await assert.rejects(h.svc.run("d"), (e) => isNexoError(e, ErrorCodes.POLLER_DISABLED));
  assert.equal(feeds.requests.length, 0);
});

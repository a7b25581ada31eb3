import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { silentLogger } from "../../src/log/index.js";
import { normalizePollersConfig, PollerService } from "../../src/pollers/index.js";
import { createStore } from "../../src/store/index.js";
import { FakeFeeds } from "../helpers/fake-feeds.js";
import { waitFor } from "../helpers/wait.js";

const HOLDER_SCRIPT = fileURLToPath(new URL("../fixtures/pollers/lease-holder.mjs", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));

/** One "daemon": its own broker and poller service on the shared store. */
async function daemon(t: TestContext, storeUrl: string, section: Record<string, unknown>, scheduling: boolean, holder: string) {
  const broker = new LocalBroker();
  const events: Event<{ item_id: string }>[] = [];
  broker.subscribe("plugin.inbound.poller.>", (e) => void events.push(e as Event<{ item_id: string }>), { bufferSize: 100_000 });
  const config = normalizePollersConfig({ default_jitter_ms: 0, ...section }, null, "/");
  const svc = new PollerService({ config, broker, logger: silentLogger(), defaultStoreUrl: storeUrl, scheduling, holder });
  await svc.start();
  t.after(async () => {
    await svc.stop();
    await broker.close();
  });
  return { svc, events };
}

const job = (id: string, url: string, everySecs = 60) => ({ id, kind: "webhook_poll", schedule: { every_secs: everySecs }, allow_private_networks: true, config: { url } });

/**
 * Lease behaviour of two PollerService instances sharing one store. `storeUrl`
 * returns a fresh database's URL (or null when the test was skipped).
 */
export function runLeaseSuite(name: string, storeUrl: (t: TestContext) => Promise<string | null>): void {
  test(`${name} - two services on one store: a run holding the lease makes the other skip; scheduled on both, every item is delivered exactly once`, async (t) => {
    const url = await storeUrl(t);
    if (!url) return;
    const feeds = await FakeFeeds.start(t);
    feeds.hold("/held", (_q, res) => res.writeHead(200, { "content-type": "application/json" }).end('[{"id":"h1"}]'));
    const items: Array<{ id: number }> = [];
    feeds.json("/shared", () => items);
    const section = { jobs: [job("held", feeds.url("/held")), job("shared", feeds.url("/shared"), 0.02)] };
    const a = await daemon(t, url, { ...section, jobs: [section.jobs[0]] }, false, "daemon-a");
    const b = await daemon(t, url, { ...section, jobs: [section.jobs[0]] }, false, "daemon-b");
    const running = a.svc.run("held");
    await waitFor(() => feeds.pending === 1, "a's request to the held feed");
    assert.equal((await b.svc.run("held")).status, "skipped_lease");
    const [seenByB] = await b.svc.list();
    assert.deepEqual([seenByB.state, seenByB.leaseHolder], ["running", "daemon-a"]);
    feeds.release();
    assert.equal((await running).status, "ok");
    feeds.json("/held", () => [{ id: "h1" }]);
    const afterA = await b.svc.run("held");
    assert.deepEqual([afterA.status, afterA.itemsSeen, afterA.itemsEmitted], ["ok", 1, 0], "b sees the item a delivered");
    assert.equal(feeds.hits("/held").length, 2);

    const c = await daemon(t, url, { jobs: [section.jobs[1]] }, true, "daemon-c");
    const d = await daemon(t, url, { jobs: [section.jobs[1]] }, true, "daemon-d");
    for (let i = 1; i <= 20; i++) {
      items.push({ id: i });
      await waitFor(() => c.events.length + d.events.length >= i, `item ${i} delivered by one of the daemons`);
    }
    // Let both keep polling for a while longer: nothing may be delivered twice.
    const runsBefore = feeds.hits("/shared").length;
    await waitFor(() => feeds.hits("/shared").length >= runsBefore + 10, "more runs");
    const ids = [...c.events, ...d.events].map((e) => e.payload.item_id).sort((x, y) => Number(x) - Number(y));
    assert.deepEqual(
      ids,
      Array.from({ length: 20 }, (_, i) => String(i + 1)),
    );
    const runs = (s: PollerService) => s.stats()[0].runs;
    assert.ok(runs(c.svc) > 0 && runs(d.svc) > 0, "both daemons took part");
  });

  test(`${name} - a lease whose holder was killed expires, then another service runs the job`, async (t) => {
    const url = await storeUrl(t);
    if (!url) return;
    const feeds = await FakeFeeds.start(t);
    feeds.hold("/held");
    const child = spawn(process.execPath, [HOLDER_SCRIPT, url, feeds.url("/held"), "1"], { cwd: PACKAGE_DIR, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise((r) => child.once("exit", r));
    t.after(() => void child.kill("SIGKILL"));
    await waitFor(() => feeds.pending === 1 || child.exitCode !== null, "the other process's request", 30_000);
    assert.equal(child.exitCode, null, stderr);
    const b = await daemon(t, url, { lease_ttl_secs: 1, timeout_secs: 2, jobs: [job("held", feeds.url("/held"))] }, false, "survivor");
    // Alive, the holder renews its lease while the run lasts (every ttl/3), so b must keep out.
    const store = await createStore(url);
    t.after(() => store.close());
    const expiry = async (): Promise<number> =>
      Number((await store.query<{ expires_at: number }>("SELECT expires_at FROM poller_lease WHERE job_id = ?", ["held"]))[0]?.expires_at ?? 0);
    const first = await expiry();
    // Past the first lease's expiry, the job is still held: renewed, not merely not yet expired.
    await waitFor(() => Date.now() > first + 100, "the first lease term to pass", 15_000, 50);
    assert.ok((await expiry()) > first, "the lease was renewed");
    assert.equal((await b.svc.run("held")).status, "skipped_lease");
    assert.equal((await b.svc.list())[0].leaseHolder, "doomed-daemon");
    child.kill("SIGKILL");
    await exited;
    feeds.json("/held", () => [{ id: "after" }]);
    // Nobody releases the dead holder's lease: it has to expire (1 s).
    const r = await waitFor(
      async () => {
        const res = await b.svc.run("held");
        return res.status === "ok" ? res : null;
      },
      "the lease to expire",
      15_000,
      100,
    );
    assert.equal(r.itemsEmitted, 1);
  });
}

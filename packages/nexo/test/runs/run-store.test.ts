import assert from "node:assert/strict";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { requestFingerprint, RunStore, runOutcomeText } from "../../src/runs/index.js";
import { ScheduleStore } from "../../src/schedules/index.js";
import { createStore, type Store } from "../../src/store/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { usePostgresServer } from "../helpers/postgres-server.js";

const postgres = usePostgresServer();

/** The same checks on both engines: every statement of the runs and schedules features runs on each. */
for (const dialect of ["sqlite", "postgres"] as const) {
  const open = async (t: TestContext): Promise<Store | null> => {
    let url: string;
    if (dialect === "sqlite") url = `sqlite:${join(tempDir(t), "runs.db")}`;
    else {
      const server = await postgres(t);
      if (!server) return null;
      url = await server.createDatabase();
    }
    const store = await createStore(url);
    t.after(() => store.close());
    return store;
  };

  test(`runs - ${dialect}: an idempotency key is claimed once, its run finishes once, orphans of a stopped daemon become interrupted, old rows are swept`, async (t) => {
    const store = await open(t);
    if (!store) return t.skip("no PostgreSQL server");
    const runs = new RunStore(store);
    await runs.migrate();
    const row = (id: string, holder: string, now: number) => ({ id, workflow: "w", channel: "http", scope: "api_key:alice", sessionId: null, idempotencyKey: "k1", holder, now });
    assert.deepEqual(await runs.claimKeyAndInsert("api_key:alice", "k1", "fp1", row("r1", "node-a", 1000), 5000), { kind: "claimed" });
    assert.deepEqual(await runs.claimKeyAndInsert("api_key:alice", "k1", "fp1", row("r2", "node-b", 1001), 5001), { kind: "existing", runId: "r1", sameInputs: true });
    assert.deepEqual(await runs.claimKeyAndInsert("api_key:alice", "k1", "fp2", row("r3", "node-b", 1002), 5002), { kind: "existing", runId: "r1", sameInputs: false });
    assert.equal(await runs.get("r2"), undefined, "a refused claim inserts no run");
    // After the key expired, it is free again.
    assert.deepEqual(await runs.claimKeyAndInsert("api_key:alice", "k1", "fp2", row("r4", "node-b", 6000), 9000), { kind: "claimed" });

    assert.equal(await runs.markRunning("r1", "node-b", 1100), false, "only the holder moves its run");
    assert.equal(await runs.markRunning("r1", "node-a", 1100), true);
    assert.equal(await runs.requestCancel("r1"), true);
    assert.deepEqual(await runs.finish("r1", "node-b", "completed", runOutcomeText({ eventsDropped: 0 }), 1150), undefined, "only the holder finishes its run");
    // What the row holds besides the outcome comes back with the write, so the holder need not read the run back.
    assert.deepEqual(await runs.finish("r1", "node-a", "completed", runOutcomeText({ result: { ok: true }, eventsDropped: 2 }), 1200), {
      createdAt: 1000,
      startedAt: 1100,
      cancelRequested: true,
    });
    assert.equal(await runs.finish("r1", "node-a", "failed", runOutcomeText({ eventsDropped: 0 }), 1300), undefined, "a finished run stays as it ended");
    const r1 = await runs.get("r1");
    assert.deepEqual([r1?.status, r1?.result, r1?.eventsDropped, r1?.startedAt, r1?.finishedAt, r1?.heartbeatAt], ["completed", { ok: true }, 2, 1100, 1200, 1200]);

    // A run started at once is inserted running: no queued -> running write, and it finishes with its own start time.
    assert.deepEqual(await runs.claimKeyAndInsert("api_key:alice", "k2", "fp1", { ...row("r5", "node-a", 2000), idempotencyKey: "k2", running: true }, 5000), { kind: "claimed" });
    const r5 = await runs.get("r5");
    assert.deepEqual([r5?.status, r5?.startedAt], ["running", 2000]);
    assert.equal(await runs.markRunning("r5", "node-a", 2100), false, "already running");
    assert.deepEqual(await runs.finish("r5", "node-a", "failed", runOutcomeText({ error: { code: "NEXO_ERR_WORKFLOW_FAILED", message: "boom" }, eventsDropped: 0 }), 2200), {
      createdAt: 2000,
      startedAt: 2000,
      cancelRequested: false,
    });

    assert.equal(await runs.requestCancel("r4"), true);
    assert.deepEqual(await runs.heartbeat("node-b", 7000), ["r4"]);
    // node-a comes back: nothing of its is active; node-b's r4 is stale once its heartbeat is old.
    assert.equal(await runs.interruptOrphans("node-a", 6500, 7100), 0);
    assert.equal(await runs.interruptOrphans("", 7001, 7200), 1);
    assert.equal((await runs.get("r4"))?.status, "interrupted");
    assert.deepEqual(
      (await runs.list({ scope: "api_key:alice", limit: 10 })).map((r) => r.id),
      ["r4", "r5", "r1"],
    );
    assert.deepEqual(await runs.list({ scope: "api_key:bob", limit: 10 }), []);
    await runs.sweep(1250, 9500);
    assert.equal(await runs.get("r1"), undefined);
    assert.equal((await runs.get("r4"))?.status, "interrupted");
  });

  test(`schedules - ${dialect}: a tick is taken by one daemon only, and the no-overlap lease refuses another tick until released or expired`, async (t) => {
    const store = await open(t);
    if (!store) return t.skip("no PostgreSQL server");
    const ticks = new ScheduleStore(store);
    await ticks.migrate();
    const [a, b] = await Promise.all([ticks.claimTick("s", 60_000, "node-a", 60_001), ticks.claimTick("s", 60_000, "node-b", 60_002)]);
    assert.equal(Number(a) + Number(b), 1, "exactly one daemon has the tick");
    assert.equal(await ticks.takeLease("s", "node-a@60000", 60_010, 1000), true);
    assert.equal(await ticks.takeLease("s", "node-a@61000", 61_000, 1000), false, "the next tick waits for the run");
    assert.equal(await ticks.takeLease("s", "node-a@60000", 60_500, 1000), true, "the holder renews");
    assert.equal(await ticks.takeLease("s", "node-b@62000", 62_000, 1000), true, "an expired lease is taken over");
    await ticks.releaseLease("s", "node-b@62000");
    assert.equal(await ticks.takeLease("s", "node-a@63000", 63_000, 1000), true);
    await ticks.setOutcome("s", 60_000, "started", "run-1");
    assert.deepEqual(
      (await ticks.ticks("s")).map((x) => [x.tickAt, x.outcome, x.runId]),
      [[60_000, "started", "run-1"]],
    );
  });
}

test("idempotency - a request's fingerprint ignores key order and stays the same across versions (keys stored before an upgrade still match)", () => {
  const a = requestFingerprint("report", { b: [1, { y: null, x: "é" }], a: true, u: undefined });
  assert.equal(a, requestFingerprint("report", { a: true, b: [1, { x: "é", y: null }] }));
  // The digest this version and the ones before it stored for that request.
  assert.equal(a, "LilnuAgWtDPxXUzsVHMm9XRORnql4CrnXaOeiMLNWf8");
  assert.notEqual(a, requestFingerprint("other", { a: true, b: [1, { x: "é", y: null }] }));
});

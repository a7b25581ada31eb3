import assert from "node:assert/strict";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import type { Nexo } from "../../src/app/index.js";
import { normalizeConfig } from "../../src/config/index.js";
import { ScheduleService } from "../../src/schedules/index.js";
import { nextTick, parseSchedules, type ScheduleConfig } from "../../src/config/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { startPostgresServer } from "../helpers/postgres-server.js";
import { waitFor } from "../helpers/wait.js";

test("schedules - a cron tick is computed in its time zone (winter and summer time), every_seconds on multiples since the epoch", () => {
  const nine = { cron: "0 9 * * *", timezone: "Europe/Madrid" };
  assert.equal(new Date(nextTick(nine, Date.parse("2026-01-15T00:00:00Z"))).toISOString(), "2026-01-15T08:00:00.000Z");
  assert.equal(new Date(nextTick(nine, Date.parse("2026-07-15T00:00:00Z"))).toISOString(), "2026-07-15T07:00:00.000Z");
  assert.equal(new Date(nextTick({ cron: "0 9 * * *" }, Date.parse("2026-07-15T09:00:00Z"))).toISOString(), "2026-07-16T09:00:00.000Z");
  assert.equal(nextTick({ everySeconds: 10 }, 1_000_000_001), 1_000_010_000);
  assert.equal(nextTick({ everySeconds: 10 }, 1_000_010_000), 1_000_020_000, "strictly after");
});

test("schedules - nexo.yaml schedules: are checked with the entry named (one of cron/every_seconds, cron syntax, time zone, unique names)", () => {
  const bad = (entry: Record<string, unknown>, pattern: RegExp): void => {
    assert.throws(
      () => normalizeConfig({ schedules: [entry] }, "/x/nexo.yaml", "/x"),
      (err: any) => {
        assert.match(err.code, /NEXO_ERR_(SCHEDULE|CONFIG)_INVALID/);
        assert.match(err.message, pattern);
        return true;
      },
    );
  };
  bad({ name: "a", workflow: "w" }, /exactly one of cron or every_seconds/);
  bad({ name: "a", workflow: "w", cron: "* * *", every_seconds: 5 }, /exactly one/);
  bad({ name: "a", workflow: "w", cron: "61 * * * *" }, /schedules\[0\] \(a\): invalid cron/);
  bad({ name: "a", workflow: "w", cron: "0 9 * * *", timezone: "Mars/Olympus" }, /time zone/);
  bad({ name: "a", workflow: "w", every_seconds: 5, timezone: "UTC" }, /timezone applies to cron only/);
  assert.throws(
    () =>
      parseSchedules([
        { name: "a", workflow: "w", every_seconds: 1 },
        { name: "a", workflow: "w", every_seconds: 2 },
      ]),
    /used twice/,
  );
  const ok = normalizeConfig(
    { schedules: [{ name: "nightly", workflow: "report", cron: "0 2 * * *", timezone: "America/New_York", inputs: { full: true }, jitter_seconds: 1.5 }] },
    "/x/nexo.yaml",
    "/x",
  );
  assert.deepEqual(ok.schedules, [
    { name: "nightly", workflow: "report", cron: "0 2 * * *", timezone: "America/New_York", inputs: { full: true }, jitterMs: 1500, overlap: false, enabled: true },
  ]);
});

/** One daemon of several sharing `store`: every run of a scheduled workflow is recorded with the daemon that ran it. */
function daemon(
  t: TestContext,
  who: string,
  store: string,
  schedules: ScheduleConfig[],
  ran: Array<{ who: string; at: number; channel: string; inputs: unknown }>,
  hold?: Promise<void>,
): Nexo {
  const { app } = testApp(t, { stateDir: join(tempDir(t), who), store, drainTimeoutMs: 100 });
  app.register("tick", (inputs, ctx) => void ran.push({ who, at: Date.now(), channel: ctx.channel, inputs }));
  app.register("long", async (inputs, ctx) => {
    ran.push({ who, at: Date.now(), channel: ctx.channel, inputs });
    await Promise.race([hold, new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)))]);
  });
  app.addService(new ScheduleService(app, schedules, { leaseTtlMs: 5000 }));
  return app;
}

/**
 * Two daemons on `store` arm the same schedules: each tick of `every-second`
 * runs once, on time, on one of them; `long-one` never overlaps itself.
 */
async function twoDaemonsShareOneStore(t: TestContext, store: string): Promise<void> {
  const base = { inputs: {}, jitterMs: 0, overlap: false, enabled: true };
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  const schedules: ScheduleConfig[] = [
    { ...base, name: "every-second", workflow: "tick", everySeconds: 1, inputs: { from: "schedule" } },
    { ...base, name: "long-one", workflow: "long", everySeconds: 1 },
  ];
  const ran: Array<{ who: string; at: number; channel: string; inputs: unknown }> = [];
  const a = daemon(t, "a", store, schedules, ran, hold);
  const b = daemon(t, "b", store, schedules, ran, hold);
  await Promise.all([a.start(), b.start()]);
  await waitFor(() => ran.filter((r) => r.inputs && (r.inputs as any).from === "schedule").length >= 2, "two ticks", 15_000);
  const longTicks = async () => {
    const s = await a.runs.store();
    return s.query("SELECT tick_at, outcome FROM nexo_schedule_ticks WHERE schedule = 'long-one' ORDER BY tick_at");
  };
  // The long run started on its first tick and is still running: later ticks are skipped, never run alongside.
  await waitFor(async () => (await longTicks()).some((r) => r.outcome === "skipped_overlap"), "a skipped tick of the long schedule", 15_000);
  release();
  await Promise.all([a.stop(), b.stop()]);

  const reader = testApp(t, { stateDir: tempDir(t), store }).app;
  const s = await reader.runs.store();
  const ticks = await s.query(
    "SELECT t.tick_at, t.outcome, t.holder, r.started_at, r.status, r.channel FROM nexo_schedule_ticks t LEFT JOIN nexo_runs r ON r.id = t.run_id WHERE t.schedule = 'every-second' ORDER BY t.tick_at",
  );
  const ticked = ran.filter((r) => (r.inputs as any).from === "schedule");
  // Once: one run per tick across both daemons, each tick a distinct whole second.
  assert.equal(ticked.length, ticks.filter((r) => r.outcome === "started").length);
  assert.equal(new Set(ticks.map((r) => r.tick_at)).size, ticks.length);
  for (const r of ticks) {
    assert.equal(Number(r.tick_at) % 1000, 0);
    if (r.outcome !== "started") continue;
    assert.equal(r.status, "completed");
    assert.equal(r.channel, "schedule");
    // On time: never before its tick.
    assert.ok(Number(r.started_at) >= Number(r.tick_at), `run started ${Number(r.started_at) - Number(r.tick_at)} ms after its tick`);
  }
  assert.ok(ticked.every((r) => r.channel === "schedule"));
  const long = await s.query("SELECT outcome FROM nexo_schedule_ticks WHERE schedule = 'long-one'");
  assert.equal(long.filter((r) => r.outcome === "started").length, ran.filter((r) => !(r.inputs as any).from).length);
  const longRuns = await s.query("SELECT started_at, finished_at FROM nexo_runs WHERE workflow = 'long' ORDER BY started_at");
  assert.ok(longRuns.length >= 1);
  for (let i = 1; i < longRuns.length; i++) assert.ok(Number(longRuns[i]!.started_at) >= Number(longRuns[i - 1]!.finished_at), "the long workflow never overlapped itself");
}

test("schedules - two daemons sharing one SQLite store: each tick fires on time and once; without overlap a tick during a running run is skipped", async (t) => {
  await twoDaemonsShareOneStore(t, `sqlite:${join(tempDir(t), "shared.db")}`);
});

test("schedules - two daemons sharing one PostgreSQL store: each tick fires on time and once; without overlap a tick during a running run is skipped", async (t) => {
  const server = await startPostgresServer(t);
  if (!server) return;
  t.after(() => server.stop());
  await twoDaemonsShareOneStore(t, await server.createDatabase());
});

test("schedules - a daemon whose schedule names an unknown workflow refuses to start with NEXO_ERR_SCHEDULE_INVALID", async (t) => {
  const { Daemon } = await import("../../src/daemon/index.js");
  const { captureLogger } = await import("../helpers/log-capture.js");
  const dir = tempDir(t);
  const config = normalizeConfig(
    { state_dir: join(dir, "state"), api: { enabled: false }, schedules: [{ name: "n", workflow: "missing", every_seconds: 60 }] },
    join(dir, "nexo.yaml"),
    dir,
  );
  await assert.rejects(
    Daemon.start(config, { logger: captureLogger().logger, controlSocket: false }),
    (e: any) => e.code === "NEXO_ERR_SCHEDULE_INVALID" && /no workflow named "missing"/.test(e.message),
  );
});

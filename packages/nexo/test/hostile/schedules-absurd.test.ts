// Schedules with absurd values: refused when the config is read, and an
// overlapping schedule firing faster than its runs end stays bounded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeConfig, parseSchedules, type ScheduleConfig } from "../../src/config/index.js";
import { ScheduleService } from "../../src/schedules/index.js";
import { testApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

test("hostile - schedules with absurd values are refused with the entry named", () => {
  const refused = (entry: Record<string, unknown>, pattern: RegExp): void => {
    assert.throws(
      () => normalizeConfig({ schedules: [{ name: "a", workflow: "w", ...entry }] }, "/x/nexo.yaml", "/x"),
      (err: any) => {
        assert.match(err.code, /NEXO_ERR_(SCHEDULE|CONFIG)_INVALID/);
        assert.match(err.message, pattern);
        return true;
      },
      JSON.stringify(entry),
    );
  };
  refused({ every_seconds: 0 }, /every_seconds/);
  refused({ every_seconds: -5 }, /every_seconds/);
  refused({ every_seconds: 1.5 }, /every_seconds/);
  refused({ every_seconds: 1e300 }, /every_seconds/);
  refused({ every_seconds: 60, jitter_seconds: 1e308 }, /jitter_seconds/);
  refused({ every_seconds: 60, jitter_seconds: Number.NaN }, /jitter_seconds/);
  refused({ every_seconds: 10, jitter_seconds: 10 }, /shorter than every_seconds/);
  refused({ cron: "0 0 30 2 *" }, /never fires/);
  refused({ cron: "* * * * * * * *" }, /invalid cron/);
  refused({ cron: "x".repeat(10_000) }, /invalid cron/);
  refused({ cron: "0 9 * * *", timezone: "../../etc/passwd" }, /time zone/);
  // Entries that skip the schema (parseSchedules is exported) are held to the same bounds.
  assert.throws(() => parseSchedules([{ name: "a", workflow: "w", every_seconds: 60, jitter_seconds: Number.POSITIVE_INFINITY }]), /jitter_seconds/);
});

test("hostile - an overlapping schedule ticking faster than its runs end waits in the bounded runs queue; full, its ticks are refused and counted", async (t) => {
  const { app, logs } = testApp(t, { runs: { maxConcurrent: 1, maxQueued: 0, heartbeatMs: 100 }, drainTimeoutMs: 100 });
  app.register("long", async (_inputs, ctx) => {
    await new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
  });
  const schedule: ScheduleConfig = { name: "flood", workflow: "long", everySeconds: 1, inputs: {}, jitterMs: 0, overlap: true, enabled: true };
  const service = new ScheduleService(app, [schedule]);
  app.addService(service);
  await app.start();
  const refusedTicks = async () => (await service.recentTicks("flood")).filter((r: { outcome: string }) => r.outcome === "refused").length;
  await waitFor(async () => (await refusedTicks()) >= 1, "a tick refused by the full runs queue", 6000, 50);
  assert.equal((await app.runs.list("operator", { status: "running" })).length, 1, "one run at a time: the one slot");
  const details = service.health().details as Record<string, { refused: number; lastError: string }>;
  assert.ok(details.flood.refused >= 1);
  assert.match(details.flood.lastError, /max_queued/);
  assert.ok(logs().filter((l) => l.schedule === "flood" && l.msg === "schedule tick failed").length <= 3, "refusals are logged throttled");
});

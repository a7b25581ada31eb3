import assert from "node:assert/strict";
import { test } from "node:test";
import { Nexo } from "../../src/app/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { RunService } from "../../src/runs/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";

const json = { "content-type": "application/json" };

test("runs - an app without a run service refuses runs and keyed executes with 501 NEXO_ERR_RUNS_NOT_ATTACHED, and still serves plain calls and readiness", async (t) => {
  const app = new Nexo({ logger: captureLogger().logger, http: true, apiPort: 0, stateDir: tempDir(t) });
  t.after(() => app.stop());
  app.register("echo", (inputs) => inputs);
  await app.start();
  assert.equal(app.hasRuns, false);
  assert.throws(
    () => app.runs,
    (e) => isNexoError(e, ErrorCodes.RUNS_NOT_ATTACHED),
  );
  const submitted = await fetch(`${app.url}/workflows/echo/runs`, { method: "POST", headers: json, body: "{}" });
  assert.equal(submitted.status, 501);
  assert.equal(((await submitted.json()) as { error: { code: string } }).error.code, ErrorCodes.RUNS_NOT_ATTACHED);
  const keyed = await fetch(`${app.url}/workflows/echo/execute`, { method: "POST", headers: { ...json, "idempotency-key": "k-1" }, body: "{}" });
  assert.equal(keyed.status, 501);
  const plain = await fetch(`${app.url}/workflows/echo/execute`, { method: "POST", headers: json, body: JSON.stringify({ a: 1 }) });
  assert.equal(plain.status, 200);
  assert.deepEqual(await plain.json(), { a: 1 });
  assert.equal((await fetch(`${app.url}/health/ready`)).status, 200);
});

test("runs - attachRuns gives the app its run service once; the app closes it when it stops", async (t) => {
  const app = new Nexo({ logger: captureLogger().logger, http: false, stateDir: tempDir(t) });
  t.after(() => app.stop());
  app.register("echo", (inputs) => inputs);
  const runs = RunService.forApp(app, { maxQueued: 5 });
  app.attachRuns(runs);
  assert.equal(app.runs, runs);
  assert.throws(
    () => app.attachRuns(RunService.forApp(app)),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_INVALID),
  );
  await app.start();
  const out = await app.runs.start("echo", { n: 1 }, { scope: "operator" });
  assert.ok(out.created);
  assert.equal((await out.done).status, "completed");
  await app.stop();
  await assert.rejects(runs.start("echo", {}, { scope: "operator" }), (e) => isNexoError(e, ErrorCodes.APP_STOPPED));
});

test("runs - a replay of an Idempotency-Key whose run is gone answers 410 NEXO_ERR_IDEMPOTENCY_RUN_EXPIRED from the catalogue", async (t) => {
  const { app } = testApp(t, { http: true });
  app.register("echo", (inputs) => inputs);
  await app.start();
  const headers = { ...json, "idempotency-key": "order-7" };
  const first = await fetch(`${app.url}/workflows/echo/execute`, { method: "POST", headers, body: JSON.stringify({ n: 7 }) });
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { n: 7 });
  // The run's row went (swept under a shorter retention by another daemon sharing the store) while its key stayed.
  const store = await app.runs.store();
  await store.exec(`DELETE FROM nexo_runs`, []);
  const replay = await fetch(`${app.url}/workflows/echo/execute`, { method: "POST", headers, body: JSON.stringify({ n: 7 }) });
  assert.equal(replay.status, 410);
  assert.equal(((await replay.json()) as { error: { code: string } }).error.code, ErrorCodes.IDEMPOTENCY_RUN_EXPIRED);
  await assert.rejects(app.runs.start("echo", { n: 7 }, { scope: "anonymous", idempotencyKey: "order-7" }), (e) => isNexoError(e) && e.httpStatus === 410);
});

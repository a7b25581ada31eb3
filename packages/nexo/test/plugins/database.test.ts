import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import pg from "pg";
import { Nexo } from "../../src/app/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { DatabasePlugin } from "../../src/plugins/index.js";
import { normalizeConfig } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { createStore } from "../../src/store/index.js";
import { captureLogger } from "../helpers/log-capture.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { usePostgresServer } from "../helpers/postgres-server.js";
import { waitFor } from "../helpers/wait.js";

const postgres = usePostgresServer();
const RUN_UNTIL_KILLED = fileURLToPath(new URL("../fixtures/database/run-until-killed.mjs", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));

/** Run the fixture daemon on `stateDir` until its hanging execution's row is `running`, then SIGKILL it; the row's id. */
async function killedMidExecution(t: TestContext, stateDir: string, url: string): Promise<string> {
  const child = spawn(process.execPath, [RUN_UNTIL_KILLED, stateDir, url], { cwd: PACKAGE_DIR, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => void child.kill("SIGKILL"));
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const id = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^running (\S+)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`fixture exited ${code} before its row was running: ${err.slice(-2000)}`)));
  });
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  return id;
}

/** Each engine: a connection string for a fresh, empty database. */
const ENGINES: Array<[string, (t: TestContext) => Promise<string | null>]> = [
  ["sqlite", async (t) => `sqlite:${join(tempDir(t), "executions.db")}`],
  [
    "postgres",
    async (t) => {
      const server = await postgres(t);
      return server ? server.createDatabase() : null;
    },
  ],
];

function appWith(t: TestContext, db: DatabasePlugin): Nexo {
  const { app } = testApp(t);
  app.register("double", (i: { n: number }) => ({ n: i.n * 2 }));
  app.register("explode", () => {
    throw new Error("boom: no such customer");
  });
  app.register("slow", () => new Promise((r) => setTimeout(() => r("done"), 30)));
  void app.addPlugin(db);
  return app;
}

for (const [engine, open] of ENGINES) {
  test(`plugins - database (${engine}): the reference plugin API's table records completed and failed executions with their columns`, async (t) => {
    const url = await open(t);
    if (!url) return;
    const db = new DatabasePlugin(url);
    const app = appWith(t, db);
    await app.start();
    await app.executeWorkflow("double", { n: 21 }, { channel: "http", sessionId: "sess-1" });
    await assert.rejects(app.executeWorkflow("explode", {}, { channel: "cli" }));
    await waitFor(() => db.stats().written === 4 && db.stats().pending === 0, "four writes");
    const rows = await db.listExecutions();
    assert.equal(rows.length, 2);
    const done = rows.find((r) => r.workflow_name === "double")!;
    assert.equal(done.status, "completed");
    assert.equal(done.session_id, "sess-1");
    assert.equal(done.channel, "http");
    assert.ok(done.duration !== null && done.duration >= 0 && done.duration < 60);
    assert.ok(Date.parse(done.completed_at!) >= Date.parse(done.started_at));
    assert.equal(done.error_code, null);
    const failed = rows.find((r) => r.workflow_name === "explode")!;
    assert.equal(failed.status, "failed");
    assert.equal(failed.error_code, ErrorCodes.WORKFLOW_FAILED);
    assert.equal(failed.error_message, "boom: no such customer");
    assert.deepEqual(await db.getExecution(done.workflow_id), done);
    assert.deepEqual(
      (await db.listExecutions({ workflowName: "explode" })).map((r) => r.workflow_id),
      [failed.workflow_id],
    );
  });

  test(`plugins - database (${engine}): 200 concurrent executions all end up completed, whatever order the writes land in`, async (t) => {
    const url = await open(t);
    if (!url) return;
    const db = new DatabasePlugin({ connectionString: url });
    const app = appWith(t, db);
    await app.start();
    await Promise.all(Array.from({ length: 200 }, (_, n) => app.executeWorkflow(n % 2 ? "slow" : "double", { n })));
    await waitFor(() => db.stats().written === 400 && db.stats().pending === 0, "400 writes");
    const rows = await db.listExecutions({ limit: 1000 });
    assert.equal(rows.length, 200);
    assert.deepEqual([...new Set(rows.map((r) => r.status))], ["completed"]);
  });

  test(`plugins - database (${engine}): the table is created once and kept across restarts; teardown drains and closes`, async (t) => {
    const url = await open(t);
    if (!url) return;
    const first = new DatabasePlugin(url);
    const app1 = appWith(t, first);
    await app1.start();
    await app1.executeWorkflow("double", { n: 1 });
    await app1.stop();
    assert.equal(first.stats().pending, 0);
    assert.equal(first.stats().written, 2, "teardown waited for the completed write");
    await assert.rejects(first.listExecutions(), /not set up/);
    const second = new DatabasePlugin(url);
    const app2 = appWith(t, second);
    await app2.start();
    await app2.executeWorkflow("double", { n: 2 });
    await waitFor(() => second.stats().written === 2, "second run written");
    assert.equal((await second.listExecutions()).length, 2, "the first run's row is still there");
    const store = await createStore(url);
    t.after(() => store.close());
    const migrations = await store.query("SELECT name FROM nexo_migrations WHERE feature = ? ORDER BY name", ["database_workflow_executions"]);
    assert.deepEqual(
      migrations.map((m) => m.name),
      ["001_create", "002_runner"],
      "each step applied once",
    );
  });
}

for (const [engine, open] of ENGINES) {
  test(`plugins - database (${engine}): rows a SIGKILLed daemon left running are marked interrupted at its next start; another daemon's are not`, async (t) => {
    const url = await open(t);
    if (!url) return;
    const stateDir = tempDir(t);
    const otherStateDir = tempDir(t);
    const [mine, others] = await Promise.all([killedMidExecution(t, stateDir, url), killedMidExecution(t, otherStateDir, url)]);
    const { app } = testApp(t, { stateDir });
    const db = new DatabasePlugin(url);
    await app.addPlugin(db);
    await app.start();
    const row = await db.getExecution(mine);
    assert.equal(row?.status, "interrupted");
    assert.equal(row?.error_code, ErrorCodes.WORKFLOW_INTERRUPTED);
    assert.equal(row?.completed_at, null);
    assert.equal(db.stats().interrupted, 1);
    assert.equal((await db.getExecution(others))?.status, "running", "a row of another daemon (state directory) sharing the database is left alone");
  });
}

test("plugins - database: without a connection string it records into the daemon's store: (PostgreSQL), not a SQLite file", async (t) => {
  const server = await postgres(t);
  if (!server) return;
  const url = await server.createDatabase();
  const dir = tempDir(t);
  const config = normalizeConfig({ state_dir: join(dir, "state"), store: url, api: { enabled: false }, in_process_plugins: { database: {} } }, null, dir);
  const daemon = await Daemon.start(config, { logger: captureLogger().logger, controlSocket: false, configure: (app) => void app.register("w", () => "ok") });
  t.after(() => daemon.stop());
  await daemon.app.executeWorkflow("w", {}, { channel: "cli" });
  const db = daemon.app.plugins.get<DatabasePlugin>("database")!;
  await waitFor(() => db.stats().written === 2 && db.stats().pending === 0, "two writes");
  const pgStore = await createStore(url);
  t.after(() => pgStore.close());
  const rows = await pgStore.query("SELECT workflow_name, status FROM workflow_executions");
  assert.deepEqual(rows, [{ workflow_name: "w", status: "completed" }]);
  assert.equal(existsSync(join(dir, "state", "nexo.db")), false, "no SQLite file was written instead");
});

test("plugins - database: /health is degraded (200, the plugin's entry says why) while writes fail, ok again once they succeed", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "executions.db");
  const { app } = testApp(t);
  const db = new DatabasePlugin(`sqlite:${file}`);
  app.register("w", () => "ok");
  await app.addPlugin(db);
  await app.start();
  await app.executeWorkflow("w", {});
  await waitFor(() => db.stats().written === 2, "written");
  const health = async () => {
    const res = await app.http.inject({ method: "GET", url: "/health" });
    const body = res.json() as { status: string; plugins: Array<{ name: string; health: string; error?: string; details?: Record<string, unknown> }> };
    return { code: res.statusCode, status: body.status, database: body.plugins.find((p) => p.name === "database")! };
  };
  assert.deepEqual([(await health()).status, (await health()).database.health], ["ok", "ok"]);
  // Another connection drops the table under the plugin: every write now fails.
  const other = await createStore(`sqlite:${file}`);
  t.after(() => other.close());
  await other.exec("ALTER TABLE workflow_executions RENAME TO moved_away");
  await app.executeWorkflow("w", {});
  await waitFor(() => db.stats().dropped.failed >= 1 && db.stats().pending === 0, "a failed write");
  const degraded = await health();
  assert.equal(degraded.code, 200);
  assert.equal(degraded.status, "degraded");
  assert.equal(degraded.database.health, "degraded");
  assert.match(degraded.database.error!, /writes are failing.*no such table/);
  assert.equal(degraded.database.details?.failedWrites, db.stats().dropped.failed);
  await other.exec("ALTER TABLE moved_away RENAME TO workflow_executions");
  await app.executeWorkflow("w", {});
  await waitFor(() => db.stats().written === 4 && db.stats().pending === 0, "writes succeed again");
  assert.equal((await health()).status, "ok");
});

test("plugins - database: the reference style (property set after construction), and the SQLite default in the app's state dir", async (t) => {
  const { app } = testApp(t);
  const db = new DatabasePlugin();
  app.register("w", () => 1);
  await app.addPlugin(db);
  await app.start();
  await app.executeWorkflow("w", {});
  await waitFor(() => db.stats().written === 2, "written");
  assert.ok(existsSync(join(app.options.stateDir, "nexo.db")));
  const late = new DatabasePlugin();
  late.connectionString = `sqlite:${join(tempDir(t), "x.db")}`;
  assert.match(late.connectionString!, /x\.db$/);
  assert.equal(JSON.stringify(late).includes("x.db"), false, "the connection string is a secret in toJSON");
});

test("plugins - database: bad options and an unreachable database fail setup with clear errors", async (t) => {
  assert.throws(
    () => new DatabasePlugin({ table: "Robert'); DROP TABLE x;--" }),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && /table/.test(e.message),
  );
  assert.throws(
    () => new DatabasePlugin({ maxPendingWrites: 0 }),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID),
  );
  const { app, logs } = testApp(t);
  // A port nothing listens on: connection refused at once, never a hang.
  const refused = new DatabasePlugin("postgres://nobody:secret-pw@127.0.0.1:1/nexo");
  await assert.rejects(app.addPlugin(refused), (e) => isNexoError(e, ErrorCodes.PLUGIN_SETUP_FAILED) && !/secret-pw/.test(e.message));
  assert.ok(logs().length > 0);
  assert.doesNotMatch(JSON.stringify(logs()), /secret-pw/, "the password is in no log line");
  assert.doesNotMatch(JSON.stringify(refused), /secret-pw/, "nor in the plugin's JSON view");
});

test("plugins - database: with the database gone, writes fail and are counted and logged, and workflows are unaffected", async (t) => {
  const server = await postgres(t);
  if (!server) return;
  const url = await server.createDatabase();
  const { app, logs } = testApp(t);
  const db = new DatabasePlugin(url, { maxPendingWrites: 1000 });
  app.register("w", () => "ok");
  await app.addPlugin(db);
  await app.start();
  // Kill every session on that database: the pool's connections die under it.
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  t.after(() => admin.end());
  await admin.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} WITH ALLOW_CONNECTIONS false`);
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [new URL(url).pathname.slice(1)]);
  for (let i = 0; i < 5; i++) assert.equal(await app.executeWorkflow("w", {}), "ok");
  await waitFor(() => db.stats().pending === 0 && db.stats().dropped.failed > 0, "failed writes counted");
  assert.ok(
    logs().some((l) => l.reason === "failed" && typeof l.workflowId === "string"),
    "each failure is logged with the workflow id",
  );
});

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import pg from "pg";
import { Nexo } from "../../src/app/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { DatabasePlugin } from "../../src/plugins/index.js";
import { createStore } from "../../src/store/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { usePostgresServer } from "../helpers/postgres-server.js";
import { waitFor } from "../helpers/wait.js";

const postgres = usePostgresServer();

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
  test(`plugins - database (${engine}): seed 004's table records completed and failed executions with their columns`, async (t) => {
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
    assert.deepEqual((await db.listExecutions({ workflowName: "explode" })).map((r) => r.workflow_id), [failed.workflow_id]);
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
    const migrations = await store.query("SELECT name FROM nexo_migrations WHERE feature = ?", ["database_workflow_executions"]);
    assert.equal(migrations.length, 1);
  });
}

test("plugins - database: the seed's style (property set after construction), and the SQLite default in the app's state dir", async (t) => {
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
  assert.throws(() => new DatabasePlugin({ table: "Robert'); DROP TABLE x;--" }), (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && /table/.test(e.message));
  assert.throws(() => new DatabasePlugin({ maxPendingWrites: 0 }), (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID));
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
  assert.ok(logs().some((l) => l.reason === "failed" && typeof l.workflowId === "string"), "each failure is logged with the workflow id");
});

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { createStore, SqliteStore } from "../../src/store/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { runStoreContract } from "./store.contract.js";

runStoreContract("store - sqlite", async (t) => {
  const file = join(tempDir(t), "contract.db");
  const store = SqliteStore.open(file);
  t.after(() => store.close());
  return { store, open: async () => SqliteStore.open(file) };
});

test("store - sqlite: createStore opens sqlite:<relative path> against baseDir, creating directories, in WAL mode", async (t) => {
  const dir = tempDir(t);
  const store = await createStore("sqlite:state/deep/nexo.db", { baseDir: dir });
  t.after(() => store.close());
  assert.equal(store.dialect, "sqlite");
  assert.ok(existsSync(join(dir, "state", "deep", "nexo.db")));
  assert.deepEqual(await store.query("PRAGMA journal_mode"), [{ journal_mode: "wal" }]);
  assert.deepEqual(await store.query("PRAGMA busy_timeout"), [{ timeout: 5000 }]);
  const mem = await createStore("sqlite::memory:");
  t.after(() => mem.close());
  assert.deepEqual(await mem.query("SELECT 1 AS one"), [{ one: 1 }]);
});

test("store - sqlite: calling the store inside its own transaction fails fast instead of waiting forever", async (t) => {
  const file = join(tempDir(t), "reenter.db");
  const store = SqliteStore.open(file);
  t.after(() => store.close());
  // A second connection to the same file in this process shares the file's lock, so the same applies to it.
  const other = SqliteStore.open(file);
  t.after(() => other.close());
  await store.transaction(async (tx) => {
    await assert.rejects(store.query("SELECT 1"), (e) => isNexoError(e, ErrorCodes.STORE_QUERY) && /tx/.test(e.message));
    await assert.rejects(other.query("SELECT 1"), (e) => isNexoError(e, ErrorCodes.STORE_QUERY));
    assert.deepEqual(await tx.query("SELECT 2 AS two"), [{ two: 2 }]);
  });
  assert.deepEqual(await other.query("SELECT 3 AS three"), [{ three: 3 }]);
});

test("store - sqlite: work a transaction left running may use the store once the transaction has ended", async (t) => {
  const store = SqliteStore.open(join(tempDir(t), "detached.db"));
  t.after(() => store.close());
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let detached: Promise<unknown> | undefined;
  await store.transaction(async (tx) => {
    // Started inside the transaction, so it carries the transaction's async context; it reaches the store after COMMIT.
    detached = gate.then(() => store.query("SELECT 4 AS four"));
    await tx.query("SELECT 1");
  });
  release();
  assert.deepEqual(await detached, [{ four: 4 }]);
});

test("store - sqlite: another process's write lock is waited for (busy timeout), or reported as NEXO_ERR_STORE_QUERY with no timeout", async (t) => {
  const file = join(tempDir(t), "busy.db");
  const store = SqliteStore.open(file);
  t.after(() => store.close());
  await store.migrate("busy", [{ name: "001", sql: "CREATE TABLE t (x INTEGER);" }]);
  // A real second process holds the write lock until told to let go.
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const script = `
    const Database = require(${JSON.stringify(driver)});
    const db = new Database(${JSON.stringify(file)});
    db.exec("BEGIN IMMEDIATE"); db.exec("INSERT INTO t VALUES (1)");
    process.stdout.write("locked\\n");
    process.stdin.once("data", () => setTimeout(() => { db.exec("COMMIT"); db.close(); process.exit(0); }, 200));`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  t.after(() => void child.kill());
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  const impatient = SqliteStore.open(file, { busyTimeoutMs: 0 });
  t.after(() => impatient.close());
  await assert.rejects(
    impatient.exec("INSERT INTO t VALUES (?)", [2]),
    (e) => isNexoError(e, ErrorCodes.STORE_QUERY) && (e.details.data as { driverCode: string }).driverCode === "SQLITE_BUSY",
  );
  child.stdin.write("go\n");
  // The default 5 s busy timeout outlasts the child's 200 ms: this write waits for the commit, then succeeds.
  await store.exec("INSERT INTO t VALUES (?)", [3]);
  assert.deepEqual(await store.query("SELECT x FROM t ORDER BY x"), [{ x: 1 }, { x: 3 }]);
});

test("store - createStore refuses an unknown scheme with NEXO_ERR_STORE_INVALID_URL and never shows the password", async () => {
  await assert.rejects(createStore("mysql://root:hunter2@db/nexo"), (e) => isNexoError(e, ErrorCodes.STORE_INVALID_URL) && !e.message.includes("hunter2"));
  await assert.rejects(createStore("sqlite:"), (e) => isNexoError(e, ErrorCodes.STORE_INVALID_URL));
  assert.throws(
    () => SqliteStore.open("/x.db", { busyTimeoutMs: -1 }),
    (e) => isNexoError(e, ErrorCodes.STORE_CONNECT),
  );
});

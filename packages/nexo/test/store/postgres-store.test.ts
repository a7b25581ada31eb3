import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { createStore, PostgresStore } from "../../src/store/index.js";
import { freePort } from "../helpers/nats-server.js";
import { usePostgresServer } from "../helpers/postgres-server.js";
import { runStoreContract } from "./store.contract.js";

const postgres = usePostgresServer();

runStoreContract("store - postgres", async (t) => {
  const server = await postgres(t);
  if (!server) return null;
  const url = await server.createDatabase();
  const store = await PostgresStore.connect(url);
  t.after(() => store.close());
  return { store, open: () => PostgresStore.connect(url) };
});

test("store - postgres: createStore picks PostgreSQL for postgres:// and postgresql://, and shows the URL without its password", async (t) => {
  const server = await postgres(t);
  if (!server) return;
  const url = await server.createDatabase();
  // The test cluster trusts loopback, so any password is accepted: enough to check it never shows.
  const withPassword = url.replace("nexo@", "nexo:hunter2@");
  for (const u of [withPassword, withPassword.replace("postgres://", "postgresql://")]) {
    const store = await createStore(u);
    t.after(() => store.close());
    assert.equal(store.dialect, "postgres");
    assert.ok(!store.url.includes("hunter2"));
    assert.match(store.url, /nexo:\*\*\*@127\.0\.0\.1/);
  }
});

test("store - postgres: an unreachable server is NEXO_ERR_STORE_CONNECT without the password in the message", async () => {
  const port = await freePort();
  await assert.rejects(
    createStore(`postgres://nexo:hunter2@127.0.0.1:${port}/nexo`),
    (e) => isNexoError(e, ErrorCodes.STORE_CONNECT) && !e.message.includes("hunter2") && !JSON.stringify(e.toJSON()).includes("hunter2"),
  );
});

test("store - postgres: calling the store inside its own transaction uses another connection (no deadlock)", async (t) => {
  const server = await postgres(t);
  if (!server) return;
  const store = await PostgresStore.connect(await server.createDatabase());
  t.after(() => store.close());
  await store.exec("CREATE TABLE t (x INTEGER)");
  await store.transaction(async (tx) => {
    await tx.exec("INSERT INTO t VALUES (?)", [1]);
    // Not committed yet: invisible to the pool's other connections.
    assert.deepEqual(await store.query("SELECT x FROM t"), []);
  });
  assert.deepEqual(await store.query("SELECT x FROM t"), [{ x: 1 }]);
});

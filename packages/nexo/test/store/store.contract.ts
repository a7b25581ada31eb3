import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import type { Migration, Store } from "../../src/store/index.js";

/** A fresh empty database: `store` on it, and `open()` for another independent connection to the same database. */
export interface StoreFixture {
  store: Store;
  open(): Promise<Store>;
}

const ITEMS: Migration[] = [
  {
    name: "001_items",
    sql: {
      sqlite: "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, flag INTEGER NOT NULL DEFAULT 0, big BIGINT, data BLOB);",
      postgres: "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score DOUBLE PRECISION, flag INTEGER NOT NULL DEFAULT 0, big BIGINT, data BYTEA);",
    },
  },
  { name: "002_counter", sql: "CREATE TABLE counter (k TEXT PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter (k, n) VALUES ('c', 0);" },
];

/**
 * The behaviour every Store implementation must have. `make` returns a fresh
 * database (or null when the test was skipped).
 */
export function runStoreContract(name: string, make: (t: TestContext) => Promise<StoreFixture | null>): void {
  const setup = async (t: TestContext): Promise<StoreFixture | null> => {
    const f = await make(t);
    if (f) await f.store.migrate("contract", ITEMS);
    return f;
  };

  test(`${name} - round-trips integers, text, reals, null, booleans as 1/0, bigints and bytes`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    const { store } = f;
    await store.exec("INSERT INTO items (id, name, score, flag, big, data) VALUES (?, ?, ?, ?, ?, ?)", [1, "one", 1.5, true, 1_700_000_000_123n, Buffer.from([0, 1, 255])]);
    await store.exec("INSERT INTO items (id, name, score, flag, big, data) VALUES (?, ?, ?, ?, ?, ?)", [2, "it's ?", null, false, null, new Uint8Array([7])]);
    const rows = await store.query("SELECT id, name, score, flag, big, data FROM items ORDER BY id");
    assert.deepEqual(rows, [
      { id: 1, name: "one", score: 1.5, flag: 1, big: 1_700_000_000_123, data: Buffer.from([0, 1, 255]) },
      { id: 2, name: "it's ?", score: null, flag: 0, big: null, data: Buffer.from([7]) },
    ]);
    const [one] = await store.query<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE flag = ?", [true]);
    assert.equal(Number(one.n), 1);
  });

  test(`${name} - a ? inside a string literal, quoted identifier or comment is not a placeholder`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    await f.store.exec(`INSERT INTO items (id, name) VALUES (?, '?' || ?) -- trailing ? comment`, [1, "x"]);
    await f.store.exec(`/* a ? here */ INSERT INTO items ("id", name) VALUES (?, 'it''s ?')`, [2]);
    const rows = await f.store.query<{ name: string }>("SELECT name FROM items WHERE name LIKE '%?%' ORDER BY id");
    assert.deepEqual(
      rows.map((r) => r.name),
      ["?x", "it's ?"],
    );
  });

  test(`${name} - exec counts changed rows; an upsert refused by its WHERE changes none`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    const { store } = f;
    assert.deepEqual(await store.exec("INSERT INTO items (id, name) VALUES (?, ?), (?, ?), (?, ?)", [1, "a", 2, "b", 3, "c"]), { changes: 3 });
    assert.deepEqual(await store.exec("UPDATE items SET name = ? WHERE id > ?", ["z", 1]), { changes: 2 });
    const upsert = "INSERT INTO items (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE items.name = ?";
    assert.deepEqual(await store.exec(upsert, [1, "A", "nope"]), { changes: 0 });
    assert.deepEqual(await store.exec(upsert, [1, "A", "a"]), { changes: 1 });
    assert.deepEqual(await store.exec("DELETE FROM items WHERE id = ?", [99]), { changes: 0 });
    const returned = await store.query<{ id: number }>("DELETE FROM items WHERE id >= ? RETURNING id", [2]);
    assert.deepEqual(returned.map((r) => r.id).sort(), [2, 3]);
  });

  test(`${name} - wrong parameter counts, unsupported values and bad SQL fail with NEXO_ERR_STORE_QUERY`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    const isQuery = (e: unknown): boolean => isNexoError(e, ErrorCodes.STORE_QUERY);
    await assert.rejects(f.store.query("SELECT name FROM items WHERE id = ? AND name = ?", [1]), isQuery);
    await assert.rejects(f.store.exec("DELETE FROM items", [1]), isQuery);
    await assert.rejects(f.store.exec("INSERT INTO items (id, name) VALUES (?, ?)", [1, undefined as never]), isQuery);
    await assert.rejects(f.store.query("SELEC nonsense"), isQuery);
    await assert.rejects(f.store.query("SELECT * FROM no_such_table"), isQuery);
    await f.store.exec("INSERT INTO items (id, name) VALUES (?, ?)", [1, "a"]);
    await assert.rejects(f.store.exec("INSERT INTO items (id, name) VALUES (?, ?)", [1, "dup"]), isQuery);
  });

  test(`${name} - a transaction commits on success and rolls back (rethrowing) on error`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    const { store } = f;
    const r = await store.transaction(async (tx) => {
      await tx.exec("INSERT INTO items (id, name) VALUES (?, ?)", [1, "kept"]);
      return (await tx.query<{ name: string }>("SELECT name FROM items WHERE id = ?", [1]))[0].name;
    });
    assert.equal(r, "kept");
    const boom = new Error("boom");
    let leaked: import("../../src/store/index.js").Queryable | undefined;
    await assert.rejects(
      store.transaction(async (tx) => {
        leaked = tx;
        await tx.exec("INSERT INTO items (id, name) VALUES (?, ?)", [2, "dropped"]);
        await tx.exec("UPDATE items SET name = ? WHERE id = ?", ["changed", 1]);
        throw boom;
      }),
      (e) => e === boom,
    );
    assert.deepEqual(await store.query("SELECT id, name FROM items ORDER BY id"), [{ id: 1, name: "kept" }]);
    await assert.rejects(leaked!.query("SELECT 1"), (e) => isNexoError(e, ErrorCodes.STORE_QUERY));
  });

  test(`${name} - concurrent transactions from two connections lose no update`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    const other = await f.open();
    t.after(() => other.close());
    const bump = (s: Store) =>
      s.transaction(async (tx) => {
        const [row] = await tx.query<{ n: number }>("SELECT n FROM counter WHERE k = ?", ["c"]);
        await tx.exec("UPDATE counter SET n = n + 1 WHERE k = ?", ["c"]);
        return row.n;
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? other : f.store)));
    const [row] = await f.store.query<{ n: number }>("SELECT n FROM counter WHERE k = ?", ["c"]);
    assert.equal(row.n, 20);
  });

  test(`${name} - migrations apply once, in order, per feature; later ones are added on the next call`, async (t) => {
    const f = await make(t);
    if (!f) return;
    const { store } = f;
    const log: Migration[] = [
      { name: "001", sql: "CREATE TABLE log (seq INTEGER NOT NULL, note TEXT NOT NULL);" },
      { name: "002", sql: "INSERT INTO log (seq, note) VALUES (1, 'second step');" },
    ];
    assert.deepEqual(await store.migrate("alpha", log), ["001", "002"]);
    assert.deepEqual(await store.migrate("alpha", log), []);
    // Another feature with the same step names is tracked separately.
    assert.deepEqual(await store.migrate("beta", [{ name: "001", sql: "CREATE TABLE beta_t (x INTEGER);" }]), ["001"]);
    const more = [...log, { name: "003", sql: "INSERT INTO log (seq, note) VALUES (3, 'third');" }];
    assert.deepEqual(await store.migrate("alpha", more), ["003"]);
    assert.deepEqual(await store.query("SELECT seq, note FROM log ORDER BY seq"), [
      { seq: 1, note: "second step" },
      { seq: 3, note: "third" },
    ]);
    const recorded = await store.query<{ feature: string; name: string }>("SELECT feature, name FROM nexo_migrations ORDER BY feature, name");
    assert.deepEqual(
      recorded.filter((r) => r.feature !== "contract").map((r) => `${r.feature}/${r.name}`),
      ["alpha/001", "alpha/002", "alpha/003", "beta/001"],
    );
  });

  test(`${name} - a failing migration is rolled back whole and not recorded (NEXO_ERR_STORE_MIGRATION)`, async (t) => {
    const f = await make(t);
    if (!f) return;
    const bad: Migration[] = [{ name: "001_half", sql: "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);" }];
    await assert.rejects(f.store.migrate("gamma", bad), (e) => isNexoError(e, ErrorCodes.STORE_MIGRATION) && /gamma.*001_half/.test(e.message));
    await assert.rejects(f.store.query("SELECT x FROM half"), (e) => isNexoError(e, ErrorCodes.STORE_QUERY));
    const fixed: Migration[] = [{ name: "001_half", sql: "CREATE TABLE half (x INTEGER);" }];
    assert.deepEqual(await f.store.migrate("gamma", fixed), ["001_half"]);
    await assert.rejects(f.store.migrate("gamma", [fixed[0], fixed[0]]), (e) => isNexoError(e, ErrorCodes.STORE_MIGRATION));
    await assert.rejects(f.store.migrate("Bad Feature", fixed), (e) => isNexoError(e, ErrorCodes.STORE_MIGRATION));
  });

  test(`${name} - two connections migrating at once apply each step exactly once`, async (t) => {
    const f = await make(t);
    if (!f) return;
    const other = await f.open();
    t.after(() => other.close());
    const steps: Migration[] = Array.from({ length: 5 }, (_, i) => ({ name: `00${i}`, sql: `CREATE TABLE race_${i} (x INTEGER);` }));
    const [a, b] = await Promise.all([f.store.migrate("race", steps), other.migrate("race", steps)]);
    assert.deepEqual(
      [...a, ...b].sort(),
      steps.map((s) => s.name),
    );
  });

  test(`${name} - a second connection sees committed writes`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    const other = await f.open();
    t.after(() => other.close());
    await f.store.exec("INSERT INTO items (id, name) VALUES (?, ?)", [5, "shared"]);
    assert.deepEqual(await other.query("SELECT name FROM items WHERE id = ?", [5]), [{ name: "shared" }]);
  });

  test(`${name} - after close every call fails with NEXO_ERR_STORE_CLOSED; close is idempotent`, async (t) => {
    const f = await setup(t);
    if (!f) return;
    const pending = f.store.exec("INSERT INTO items (id, name) VALUES (?, ?)", [1, "in flight"]);
    await f.store.close();
    await pending; // a statement issued before close completes
    await f.store.close();
    const closed = (e: unknown): boolean => isNexoError(e, ErrorCodes.STORE_CLOSED);
    await assert.rejects(f.store.query("SELECT 1"), closed);
    await assert.rejects(f.store.exec("DELETE FROM items"), closed);
    await assert.rejects(
      f.store.transaction(async () => 1),
      closed,
    );
    const other = await f.open();
    t.after(() => other.close());
    assert.deepEqual(await other.query("SELECT name FROM items"), [{ name: "in flight" }]);
  });
}

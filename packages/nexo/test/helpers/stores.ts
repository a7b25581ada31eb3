import { join } from "node:path";
import type { TestContext } from "node:test";
import { createStore, type Store } from "../../src/store/index.js";
import { tempDir } from "./fixture-plugins.js";
import { usePostgresServer } from "./postgres-server.js";

/** Opens a fresh, empty store for one test (closed after it), or null when the test was skipped. */
export type StoreOpener = (t: TestContext) => Promise<Store | null>;

/**
 * The two dialects every store-backed feature is tested on: a SQLite file in a
 * temp dir, and a new database on one PostgreSQL server for the whole file.
 * Call at the top level of a test file (the server's stop hook belongs to the file).
 * @example for (const [dialect, open] of storeDialects()) test(`x - ${dialect}: ...`, async (t) => { const store = await open(t); if (!store) return; ... });
 */
export function storeDialects(): Array<readonly ["sqlite" | "postgres", StoreOpener]> {
  const postgres = usePostgresServer();
  const sqlite: StoreOpener = async (t) => {
    const store = await createStore(`sqlite:${join(tempDir(t), "store.db")}`);
    t.after(() => store.close());
    return store;
  };
  const pg: StoreOpener = async (t) => {
    const server = await postgres(t);
    if (!server) return null;
    const store = await createStore(await server.createDatabase());
    t.after(() => store.close());
    return store;
  };
  return [
    ["sqlite", sqlite],
    ["postgres", pg],
  ];
}

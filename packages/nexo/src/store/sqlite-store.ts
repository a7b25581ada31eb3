import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync, realpathSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ErrorCodes, NexoError } from "../errors.js";
import { abbreviate, bindParams } from "./bind.js";
import { applyMigrationStep, checkMigrations, MIGRATIONS_TABLE_DDL, migrationSql } from "./migrations.js";
import { Limiter } from "../util/index.js";
import { countPlaceholders } from "./placeholders.js";
import type { ExecResult, Migration, Queryable, Row, SqlValue, Store } from "./types.js";

/** Options of `SqliteStore.open`. */
export interface SqliteStoreOptions {
  /** How long a statement waits for another process's write lock before failing, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

/** Prepared statements kept per connection; the cache is emptied when full. */
const STATEMENT_CACHE_LIMIT = 256;

/**
 * better-sqlite3 is synchronous: a statement that waits for a lock blocks the
 * whole event loop. Two connections to one file in one process (two services,
 * tests) would deadlock while one holds a transaction across an `await`, so
 * every connection to a file goes through one process-wide lock; other
 * processes are waited for with SQLite's busy timeout.
 */
const fileLocks = new Map<string, { mutex: Limiter; refs: number }>();

/** A transaction in progress: the file lock it holds, and whether it is still open. */
interface TransactionScope {
  lock: Limiter;
  open: boolean;
}

/** The transaction the current async context runs in: calling its store (not `tx`) would wait forever. */
const insideTransaction = new AsyncLocalStorage<TransactionScope>();
// On Node 20 an enabled AsyncLocalStorage keeps promise hooks on for every promise
// in the process, which more than doubles the cost of each await on the HTTP path
// (BENCHMARKS.md, HTTP API); it is disabled again whenever no transaction is open.
let openTransactions = 0;

type Db = Database.Database;
type Statement = Database.Statement;
interface Prepared {
  stmt: Statement;
  placeholders: number;
}

/**
 * A `Store` on a SQLite file (better-sqlite3) in WAL mode with a busy timeout,
 * so several processes can share it. Transactions start with `BEGIN IMMEDIATE`,
 * taking the write lock up front instead of failing on upgrade.
 * @example const store = SqliteStore.open("/var/lib/nexo/nexo.db");
 */
export class SqliteStore implements Store {
  readonly dialect = "sqlite" as const;
  private readonly statements = new Map<string, Prepared>();
  private closed = false;

  private constructor(
    private readonly db: Db,
    readonly url: string,
    private readonly lockKey: string,
    private readonly lock: Limiter,
  ) {}

  /** Open (creating it and its directory if needed) the database at `path`, or `:memory:`. NEXO_ERR_STORE_CONNECT on failure. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const busy = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(busy) || busy < 0) {
      throw new NexoError(ErrorCodes.STORE_CONNECT, `busyTimeoutMs must be a non-negative integer, got ${String(busy)} (${typeof busy})`, { field: "busyTimeoutMs" });
    }
    const memory = path === ":memory:";
    let db: Db;
    try {
      if (!memory) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { timeout: busy });
      if (!memory) db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
    } catch (err) {
      throw new NexoError(ErrorCodes.STORE_CONNECT, `cannot open SQLite database ${path}: ${(err as Error).message}`, { file: path, cause: err });
    }
    const key = memory ? `:memory:${Math.random()}` : realpathSync(path);
    let entry = fileLocks.get(key);
    if (!entry) {
      entry = { mutex: new Limiter(1), refs: 0 };
      fileLocks.set(key, entry);
    }
    entry.refs += 1;
    return new SqliteStore(db, `sqlite:${path}`, key, entry.mutex);
  }

  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.locked(() => this.runQuery<T>(sql, params));
  }

  exec(sql: string, params?: readonly SqlValue[]): Promise<ExecResult> {
    return this.locked(() => this.runExec(sql, params));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.locked(() => this.runTransaction(fn));
  }

  async migrate(feature: string, migrations: readonly Migration[]): Promise<string[]> {
    checkMigrations(feature, migrations);
    await this.locked(() => this.wrap(MIGRATIONS_TABLE_DDL, () => this.db.exec(MIGRATIONS_TABLE_DDL)));
    const applied: string[] = [];
    for (const m of migrations) {
      // Each step in its own IMMEDIATE transaction: a second process waits, then sees it recorded.
      await this.transaction(async (tx) => {
        // A script may hold several statements: db.exec runs them (inside this transaction).
        if (await applyMigrationStep(tx, feature, m, () => this.db.exec(migrationSql(m, "sqlite")))) applied.push(m.name);
      });
    }
    return applied;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Statements already queued on the lock run first; then the connection goes.
    await this.lock.run(() => undefined);
    this.statements.clear();
    this.db.close();
    const entry = fileLocks.get(this.lockKey);
    if (entry && --entry.refs === 0) fileLocks.delete(this.lockKey);
  }

  private locked<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(this.url));
    const scope = insideTransaction.getStore();
    if (scope !== undefined && scope.open && scope.lock === this.lock) {
      return Promise.reject(
        new NexoError(ErrorCodes.STORE_QUERY, "the store was called inside one of its own transactions, which would wait forever: use the `tx` handle passed to the transaction"),
      );
    }
    return this.lock.run(() => {
      if (!this.db.open) throw closedError(this.url);
      return fn();
    });
  }

  private async runTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.wrap("BEGIN IMMEDIATE", () => this.db.exec("BEGIN IMMEDIATE"));
    let open = true;
    const guard = (): void => {
      if (!open) throw new NexoError(ErrorCodes.STORE_QUERY, "this transaction has already ended; use the store, or a new transaction");
    };
    const tx: Queryable = {
      query: async <R extends Row = Row>(sql: string, params?: readonly SqlValue[]) => (guard(), this.runQuery<R>(sql, params)),
      exec: async (sql: string, params?: readonly SqlValue[]) => (guard(), this.runExec(sql, params)),
    };
    // Work `fn` left running after the transaction ended may use the store again: `scope.open` tells it apart.
    const scope: TransactionScope = { lock: this.lock, open: true };
    openTransactions++;
    try {
      const result = await insideTransaction.run(scope, () => fn(tx));
      open = false;
      this.wrap("COMMIT", () => this.db.exec("COMMIT"));
      return result;
    } catch (err) {
      open = false;
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw err;
    } finally {
      scope.open = false;
      if (--openTransactions === 0) insideTransaction.disable();
    }
  }

  private runQuery<T>(sql: string, params: readonly SqlValue[] | undefined): T[] {
    const { stmt, placeholders } = this.prepare(sql);
    const values = bindParams(sql, params, placeholders, false);
    return this.wrap(sql, () => (stmt.reader ? (stmt.all(...values) as T[]) : (stmt.run(...values), [])));
  }

  private runExec(sql: string, params: readonly SqlValue[] | undefined): ExecResult {
    const { stmt, placeholders } = this.prepare(sql);
    const values = bindParams(sql, params, placeholders, false);
    return this.wrap(sql, () => (stmt.reader ? { changes: stmt.all(...values).length } : { changes: stmt.run(...values).changes }));
  }

  private prepare(sql: string): Prepared {
    let entry = this.statements.get(sql);
    if (entry) return entry;
    entry = { stmt: this.wrap(sql, () => this.db.prepare(sql)), placeholders: countPlaceholders(sql) };
    if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
    this.statements.set(sql, entry);
    return entry;
  }

  private wrap<T>(sql: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof NexoError) throw err;
      const code = (err as { code?: string }).code;
      throw new NexoError(ErrorCodes.STORE_QUERY, `SQLite: ${(err as Error).message} (in: ${abbreviate(sql)})`, { cause: err, data: { driverCode: code } });
    }
  }
}

function closedError(url: string): NexoError {
  return new NexoError(ErrorCodes.STORE_CLOSED, `the store ${url} is closed`);
}

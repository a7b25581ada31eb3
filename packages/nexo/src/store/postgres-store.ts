import pg from "pg";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { abbreviate, bindParams } from "./bind.js";
import { applyMigrationStep, checkMigrations, MIGRATIONS_TABLE_DDL, migrationSql } from "./migrations.js";
import { toNumberedPlaceholders } from "./placeholders.js";
import { redactUrl, scrubSecret } from "./redact-url.js";
import type { ExecResult, Migration, Queryable, Row, SqlValue, Store } from "./types.js";

/** Options of `PostgresStore.connect`. */
export interface PostgresStoreOptions {
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** How long to wait for a connection, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Receives errors of idle connections (server restarts); the URL in them is redacted. Default: none. */
  logger?: Logger;
}

const INT8_OID = 20;
/** Key of the advisory lock that serializes migrations across processes. */
const MIGRATION_LOCK_KEY = 0x6e65786f; // "nexo"

/** Rows read the same as on SQLite: BIGINT as a number (timestamps in ms fit), the rest as pg parses them. */
const portableTypes = {
  getTypeParser(oid: number, format?: "text" | "binary"): (value: string) => unknown {
    if (oid === INT8_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as "text") as (value: string) => unknown;
  },
};

/**
 * A `Store` on PostgreSQL through a `pg` connection pool. `?` placeholders are
 * translated to `$n` (translations are cached per statement text). Migrations
 * take a transaction-scoped advisory lock so concurrent daemons apply each once.
 * @example const store = await PostgresStore.connect("postgres://nexo@127.0.0.1:5432/nexo");
 */
export class PostgresStore implements Store {
  readonly dialect = "postgres" as const;
  readonly url: string;
  private readonly translations = new Map<string, { text: string; count: number }>();
  private closed = false;
  /** Calls started before `close()`: it lets them finish before ending the pool. */
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly pool: pg.Pool,
    rawUrl: string,
    private readonly password: string | undefined,
  ) {
    this.url = redactUrl(rawUrl);
  }

  /** Create the pool and check one connection works: NEXO_ERR_STORE_CONNECT (URL redacted) otherwise. */
  static async connect(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    let password: string | undefined;
    try {
      password = decodeURIComponent(new URL(url).password) || undefined;
    } catch {
      throw new NexoError(ErrorCodes.STORE_INVALID_URL, `store URL is not a valid postgres:// URL: ${redactUrl(url)}`, { field: "store" });
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 10_000,
      types: portableTypes,
    });
    // Without a listener, an idle connection dropped by the server would crash the process.
    pool.on("error", (err) => options.logger?.warn({ store: redactUrl(url), err: scrubSecret(err.message, password) }, "PostgreSQL idle connection error"));
    const store = new PostgresStore(pool, url, password);
    try {
      await pool.query("SELECT 1");
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new NexoError(ErrorCodes.STORE_CONNECT, `cannot connect to PostgreSQL at ${store.url}: ${scrubSecret((err as Error).message, password)}`, {
        data: { driverCode: (err as { code?: string }).code },
      });
    }
    return store;
  }

  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.track(() => this.run(this.pool, sql, params).then((r) => r.rows as T[]));
  }

  exec(sql: string, params?: readonly SqlValue[]): Promise<ExecResult> {
    return this.track(() => this.run(this.pool, sql, params).then((r) => ({ changes: r.rowCount ?? 0 })));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.track(() => this.runTransaction(fn));
  }

  private async runTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    let open = true;
    const guard = (): void => {
      if (!open) throw new NexoError(ErrorCodes.STORE_QUERY, "this transaction has already ended; use the store, or a new transaction");
    };
    const tx: Queryable = {
      query: async <R extends Row = Row>(sql: string, params?: readonly SqlValue[]) => (guard(), (await this.run(client, sql, params)).rows as R[]),
      exec: async (sql: string, params?: readonly SqlValue[]) => (guard(), { changes: (await this.run(client, sql, params)).rowCount ?? 0 }),
    };
    let broken = false;
    try {
      await this.run(client, "BEGIN", []);
      const result = await fn(tx);
      open = false;
      await this.run(client, "COMMIT", []);
      return result;
    } catch (err) {
      open = false;
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true; // a connection that cannot roll back is not reused
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async migrate(feature: string, migrations: readonly Migration[]): Promise<string[]> {
    checkMigrations(feature, migrations);
    // CREATE TABLE IF NOT EXISTS races with itself across sessions (duplicate pg_type row): lock first.
    await this.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await tx.exec(MIGRATIONS_TABLE_DDL);
    });
    const applied: string[] = [];
    for (const m of migrations) {
      await this.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
        // Without parameters pg uses the simple protocol, which runs a multi-statement script.
        if (await applyMigrationStep(tx, feature, m, () => tx.exec(migrationSql(m, "postgres")))) applied.push(m.name);
      });
    }
    return applied;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.pool.end();
  }

  private track<T>(start: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(this.url));
    const p = start();
    this.inFlight.add(p);
    const done = (): void => void this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private async checkout(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw new NexoError(ErrorCodes.STORE_CONNECT, `cannot connect to PostgreSQL at ${this.url}: ${scrubSecret((err as Error).message, this.password)}`, {
        data: { driverCode: (err as { code?: string }).code },
      });
    }
  }

  private async run(on: pg.Pool | pg.PoolClient, sql: string, params: readonly SqlValue[] | undefined): Promise<pg.QueryResult> {
    let t = this.translations.get(sql);
    if (!t) {
      t = toNumberedPlaceholders(sql);
      if (this.translations.size >= 256) this.translations.clear();
      this.translations.set(sql, t);
    }
    const values = bindParams(sql, params, t.count, true);
    try {
      return await on.query({ text: t.text, values });
    } catch (err) {
      const e = err as Error & { code?: string };
      // Errors before any statement ran (connection refused, ...) are connection errors, not query errors.
      const code = e.code === undefined || /^(08|57P)/.test(e.code) ? ErrorCodes.STORE_CONNECT : ErrorCodes.STORE_QUERY;
      throw new NexoError(code, `PostgreSQL: ${scrubSecret(e.message, this.password)} (in: ${abbreviate(sql)})`, { cause: err, data: { driverCode: e.code } });
    }
  }
}

function closedError(url: string): NexoError {
  return new NexoError(ErrorCodes.STORE_CLOSED, `the store ${url} is closed`);
}

/**
 * A value bound to a `?` placeholder. Booleans are stored as 1 / 0 in both
 * dialects (declare such columns INTEGER), so a row reads the same everywhere.
 */
export type SqlValue = string | number | bigint | boolean | null | Buffer | Uint8Array;

/** One result row: column name to value (INTEGER/BIGINT as number, TEXT as string, BLOB/BYTEA as Buffer, NULL as null). */
export type Row = Record<string, unknown>;

/** Outcome of a statement that returns no rows. */
export interface ExecResult {
  /** Rows inserted, updated or deleted (for an upsert whose WHERE refused the update: 0). */
  changes: number;
}

/**
 * What a caller can run: one statement at a time, with `?` placeholders in
 * either dialect (translated to `$1..$n` for PostgreSQL). A `?` inside a quoted
 * string, a quoted identifier or a comment is not a placeholder.
 */
export interface Queryable {
  /** Run a statement and return its rows (empty for statements without a result set). */
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Run a statement and return how many rows it changed. */
  exec(sql: string, params?: readonly SqlValue[]): Promise<ExecResult>;
}

/** One step of a feature's schema: applied once, in list order, recorded by name. */
export interface Migration {
  /** Unique within the feature, e.g. `001_init`. Never rename an applied one. */
  name: string;
  /** The script (several statements allowed), or one per dialect when they differ (BLOB vs BYTEA, ...). */
  sql: string | { sqlite: string; postgres: string };
}

/** Which engine a store talks to. */
export type StoreDialect = "sqlite" | "postgres";

/**
 * Persistence shared by features (pollers, workflow executions, API keys):
 * parameterized statements, transactions, per-feature migrations. Implemented
 * by `SqliteStore` and `PostgresStore`; both pass the same contract suite.
 */
export interface Store extends Queryable {
  readonly dialect: StoreDialect;
  /** The store's URL with any password replaced by `***` (safe to log). */
  readonly url: string;
  /**
   * Run `fn` in a transaction: committed when it resolves, rolled back when it
   * throws (the error is rethrown). Use the `tx` handle inside `fn`: on SQLite,
   * calling the store itself from `fn` waits for the transaction to end.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Apply the feature's migrations not applied yet, in order, each in its own
   * transaction, and record them in `nexo_migrations`. Safe when several
   * processes migrate the same database at once. Returns the names applied now.
   */
  migrate(feature: string, migrations: readonly Migration[]): Promise<string[]>;
  /** Wait for statements in flight, then close connections; later calls fail with NEXO_ERR_STORE_CLOSED. Idempotent. */
  close(): Promise<void>;
}

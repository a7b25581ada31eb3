import { ErrorCodes, NexoError } from "../errors.js";
import type { Migration, Queryable, StoreDialect } from "./types.js";

/** Table recording applied migrations: one row per (feature, name). */
export const MIGRATIONS_TABLE = "nexo_migrations";

/** DDL of the migrations table (the same text works in both dialects). */
export const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  feature TEXT NOT NULL,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (feature, name)
)`;

/** Check a feature's migration list before touching the database: names present and unique. */
export function checkMigrations(feature: string, migrations: readonly Migration[]): void {
  if (typeof feature !== "string" || !/^[a-z][a-z0-9_]{0,63}$/.test(feature)) {
    throw new NexoError(ErrorCodes.STORE_MIGRATION, `migration feature must match ^[a-z][a-z0-9_]{0,63}$, got ${JSON.stringify(feature)}`, { field: "feature" });
  }
  const seen = new Set<string>();
  for (const m of migrations) {
    if (!m || typeof m.name !== "string" || m.name.length === 0) {
      throw new NexoError(ErrorCodes.STORE_MIGRATION, `${feature}: every migration needs a non-empty name`, { field: "name" });
    }
    if (seen.has(m.name)) throw new NexoError(ErrorCodes.STORE_MIGRATION, `${feature}: migration ${m.name} is listed twice`, { field: "name" });
    seen.add(m.name);
  }
}

/** The script of `m` for `dialect`. */
export function migrationSql(m: Migration, dialect: StoreDialect): string {
  return typeof m.sql === "string" ? m.sql : m.sql[dialect];
}

/**
 * Inside the caller's (serialized) transaction: unless `m` is recorded already,
 * run its script with `runScript` and record it. True when it was applied now.
 * A failing script is NEXO_ERR_STORE_MIGRATION naming the feature and step.
 */
export async function applyMigrationStep(tx: Queryable, feature: string, m: Migration, runScript: () => Promise<unknown> | unknown): Promise<boolean> {
  const done = await tx.query(`SELECT name FROM ${MIGRATIONS_TABLE} WHERE feature = ? AND name = ?`, [feature, m.name]);
  if (done.length > 0) return false;
  try {
    await runScript();
  } catch (err) {
    throw new NexoError(ErrorCodes.STORE_MIGRATION, `${feature}: migration ${m.name} failed: ${(err as Error).message}`, { field: m.name, cause: err });
  }
  await tx.exec(`INSERT INTO ${MIGRATIONS_TABLE} (feature, name, applied_at) VALUES (?, ?, ?)`, [feature, m.name, Date.now()]);
  return true;
}

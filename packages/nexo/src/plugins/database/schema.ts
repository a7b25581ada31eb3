import type { Migration } from "../../store/index.js";

/**
 * The executions table, the reference plugin API's columns plus the error. Timestamps are
 * TIMESTAMPTZ on PostgreSQL (queryable by time) and RFC 3339 text on SQLite
 * (which sorts the same); `table` is checked as an identifier before it gets here.
 */
export function executionMigrations(table: string): Migration[] {
  const columns = (ts: string, real: string): string => `
    workflow_id   TEXT PRIMARY KEY,
    workflow_name TEXT NOT NULL,
    session_id    TEXT,
    channel       TEXT,
    started_at    ${ts} NOT NULL,
    completed_at  ${ts},
    duration      ${real},
    status        TEXT NOT NULL,
    error_code    TEXT,
    error_message TEXT`;
  const indexes = `
    CREATE INDEX IF NOT EXISTS ${table}_name_started ON ${table} (workflow_name, started_at);
    CREATE INDEX IF NOT EXISTS ${table}_started ON ${table} (started_at);`;
  return [
    {
      name: "001_create",
      sql: {
        sqlite: `CREATE TABLE IF NOT EXISTS ${table} (${columns("TEXT", "REAL")});${indexes}`,
        postgres: `CREATE TABLE IF NOT EXISTS ${table} (${columns("TIMESTAMPTZ", "DOUBLE PRECISION")});${indexes}`,
      },
    },
    {
      // Which daemon (state directory) ran the execution: at start, a daemon marks only its own
      // rows left `running` as interrupted, never those of another daemon sharing the database.
      name: "002_runner",
      sql: `ALTER TABLE ${table} ADD COLUMN runner TEXT;
    CREATE INDEX IF NOT EXISTS ${table}_status_runner ON ${table} (status, runner);`,
    },
  ];
}

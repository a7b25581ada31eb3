import type { Migration } from "../store/index.js";

/** The audit trail: one row per recorded decision, indexed for the queries `GET /audit` makes. */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    name: "001_audit",
    sql: {
      sqlite: `
CREATE TABLE nexo_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at BIGINT NOT NULL,
  principal TEXT NOT NULL,
  strategy TEXT,
  tenant TEXT,
  surface TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  allowed INTEGER NOT NULL,
  rule TEXT NOT NULL
);
CREATE INDEX nexo_audit_at ON nexo_audit (at);
CREATE INDEX nexo_audit_principal ON nexo_audit (principal, id);`,
      postgres: `
CREATE TABLE nexo_audit (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  principal TEXT NOT NULL,
  strategy TEXT,
  tenant TEXT,
  surface TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  allowed INTEGER NOT NULL,
  rule TEXT NOT NULL
);
CREATE INDEX nexo_audit_at ON nexo_audit (at);
CREATE INDEX nexo_audit_principal ON nexo_audit (principal, id);`,
    },
  },
];

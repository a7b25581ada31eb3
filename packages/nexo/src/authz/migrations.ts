import type { Migration } from "../store/index.js";

/**
 * The audit trail: one row per recorded decision, indexed for the queries `GET /audit` makes.
 * From 002 a decision row is its time and a reference to its subject (who, through which
 * surface, did what, allowed or not, by which rule), each distinct subject stored once:
 * a decision then costs the store two integers instead of nine values (docs/authorization.md,
 * "The audit trail"). The view `nexo_audit` keeps the columns of 001 for readers.
 */
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
  {
    // Strategy and tenant are '' for none here (NULLs are never equal in a UNIQUE constraint); the view gives them back as NULL.
    // No foreign key from decisions to subjects: subjects are never deleted, and a check would cost a lookup per decision.
    // No index on the time either: retention deletes by id, oldest first (audit-log.ts), and an index on
    // per-millisecond times tripled a decision's cost.
    name: "002_audit_subjects",
    sql: {
      sqlite: subjectsMigration("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),
      // The sequence moves past the ids the old entries kept.
      postgres: `${subjectsMigration("BIGSERIAL PRIMARY KEY", "BIGINT")}
SELECT setval(pg_get_serial_sequence('nexo_audit_decisions', 'id'), COALESCE((SELECT MAX(id) FROM nexo_audit_decisions), 0) + 1, false);`,
    },
  },
];

/** Migration 002 in one dialect: `id` is that dialect's auto-increment key, `ref` its type for a reference to one. */
function subjectsMigration(id: string, ref: string): string {
  return `
CREATE TABLE nexo_audit_subjects (
  id ${id},
  principal TEXT NOT NULL,
  strategy TEXT NOT NULL,
  tenant TEXT NOT NULL,
  surface TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  allowed INTEGER NOT NULL,
  rule TEXT NOT NULL,
  UNIQUE (principal, strategy, tenant, surface, kind, name, allowed, rule)
);
CREATE TABLE nexo_audit_decisions (
  id ${id},
  at BIGINT NOT NULL,
  subject ${ref} NOT NULL
);
INSERT INTO nexo_audit_subjects (principal, strategy, tenant, surface, kind, name, allowed, rule)
  SELECT DISTINCT principal, COALESCE(strategy, ''), COALESCE(tenant, ''), surface, kind, name, allowed, rule FROM nexo_audit;
INSERT INTO nexo_audit_decisions (id, at, subject)
  SELECT a.id, a.at, s.id FROM nexo_audit a JOIN nexo_audit_subjects s
    ON s.principal = a.principal AND s.strategy = COALESCE(a.strategy, '') AND s.tenant = COALESCE(a.tenant, '')
   AND s.surface = a.surface AND s.kind = a.kind AND s.name = a.name AND s.allowed = a.allowed AND s.rule = a.rule;
DROP TABLE nexo_audit;
CREATE INDEX nexo_audit_decisions_subject ON nexo_audit_decisions (subject, id);
CREATE VIEW nexo_audit AS
  SELECT d.id, d.at, s.principal, NULLIF(s.strategy, '') AS strategy, NULLIF(s.tenant, '') AS tenant, s.surface, s.kind, s.name, s.allowed, s.rule
  FROM nexo_audit_decisions d JOIN nexo_audit_subjects s ON s.id = d.subject;`;
}

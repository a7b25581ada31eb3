import type { Migration } from "../store/index.js";

/** Agent conversations: one row per message, numbered per (binding, session). */
export const AGENT_MIGRATIONS: readonly Migration[] = [
  {
    name: "001_agent_messages",
    sql: `
CREATE TABLE nexo_agent_messages (
  binding TEXT NOT NULL,
  session_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  message TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (binding, session_id, seq)
);`,
  },
  {
    // The retention sweep deletes by (binding, age).
    name: "002_agent_messages_created_at",
    sql: `CREATE INDEX nexo_agent_messages_age ON nexo_agent_messages (binding, created_at);`,
  },
];

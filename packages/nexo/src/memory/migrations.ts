import type { Migration } from "../store/index.js";

/** The memory table and its full-text index: FTS5 (external content, kept by triggers) on SQLite, a generated tsvector with GIN on PostgreSQL. */
export const MEMORY_MIGRATIONS: readonly Migration[] = [
  {
    name: "001_memories",
    sql: {
      sqlite: `
CREATE TABLE nexo_memories (
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  content TEXT NOT NULL,
  tags TEXT NOT NULL,
  concept_tags TEXT NOT NULL,
  memory_type TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX nexo_memories_agent ON nexo_memories (agent_id, created_at);
CREATE VIRTUAL TABLE nexo_memories_fts USING fts5(content, tags, content='nexo_memories', content_rowid='rowid');
CREATE TRIGGER nexo_memories_ai AFTER INSERT ON nexo_memories BEGIN
  INSERT INTO nexo_memories_fts (rowid, content, tags) VALUES (new.rowid, new.content, new.tags || ' ' || new.concept_tags);
END;
CREATE TRIGGER nexo_memories_ad AFTER DELETE ON nexo_memories BEGIN
  INSERT INTO nexo_memories_fts (nexo_memories_fts, rowid, content, tags) VALUES ('delete', old.rowid, old.content, old.tags || ' ' || old.concept_tags);
END;`,
      postgres: `
CREATE TABLE nexo_memories (
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  content TEXT NOT NULL,
  tags TEXT NOT NULL,
  concept_tags TEXT NOT NULL,
  memory_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', content || ' ' || tags || ' ' || concept_tags)) STORED
);
CREATE INDEX nexo_memories_agent ON nexo_memories (agent_id, created_at);
CREATE INDEX nexo_memories_search ON nexo_memories USING GIN (search);`,
    },
  },
];

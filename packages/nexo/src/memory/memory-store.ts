import { uuidv7 } from "nexo-plugin-sdk/contract";
import type { Row, Store } from "../store/index.js";
import { MEMORY_MIGRATIONS } from "./migrations.js";
import { parseRecall, parseRemember, queryTerms } from "./params.js";
import type { MemoryEntry, RecallInput, RememberInput } from "./types.js";

const COLUMNS = "m.id, m.agent_id, m.content, m.tags, m.concept_tags, m.memory_type, m.created_at";

function toEntry(r: Row): MemoryEntry {
  return {
    id: String(r.id),
    agent_id: String(r.agent_id),
    content: String(r.content),
    tags: JSON.parse(String(r.tags)) as string[],
    concept_tags: JSON.parse(String(r.concept_tags)) as string[],
    created_at: new Date(Number(r.created_at)).toISOString(),
    memory_type: String(r.memory_type),
  };
}

/**
 * Agent memories on the daemon's store, ranked by full-text relevance:
 * SQLite FTS5 (bm25) or PostgreSQL tsvector (ts_rank). Any query word may
 * match; better matches come first, then newer ones. Each agent sees only
 * its own entries.
 */
export class MemoryStore {
  private ready: Promise<void> | undefined;

  constructor(private readonly store: Store) {}

  /** Create the table on first use (idempotent). */
  init(): Promise<void> {
    this.ready ??= this.store.migrate("memory", MEMORY_MIGRATIONS).then(() => undefined);
    return this.ready;
  }

  async remember(input: RememberInput): Promise<MemoryEntry> {
    const m = parseRemember(input);
    await this.init();
    const entry: MemoryEntry = {
      id: uuidv7(),
      agent_id: m.agent_id,
      content: m.content,
      tags: m.tags,
      concept_tags: m.concept_tags,
      created_at: new Date().toISOString(),
      memory_type: m.memory_type,
    };
    await this.store.exec("INSERT INTO nexo_memories (id, agent_id, content, tags, concept_tags, memory_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [
      entry.id,
      entry.agent_id,
      entry.content,
      JSON.stringify(entry.tags),
      JSON.stringify(entry.concept_tags),
      entry.memory_type,
      Date.parse(entry.created_at),
    ]);
    return entry;
  }

  /** The best `limit` entries of `agent_id` for `query`; an empty query (no words) gives the newest ones. */
  async recall(input: RecallInput): Promise<MemoryEntry[]> {
    const { agent_id, query, limit } = parseRecall(input);
    await this.init();
    const terms = queryTerms(query);
    if (terms.length === 0) {
      const rows = await this.store.query(`SELECT ${COLUMNS} FROM nexo_memories m WHERE m.agent_id = ? ORDER BY m.created_at DESC, m.id DESC LIMIT ?`, [agent_id, limit]);
      return rows.map(toEntry);
    }
    if (this.store.dialect === "sqlite") {
      const match = terms.map((t) => `"${t}"`).join(" OR ");
      const rows = await this.store.query(
        `SELECT ${COLUMNS} FROM nexo_memories_fts f JOIN nexo_memories m ON m.rowid = f.rowid
         WHERE nexo_memories_fts MATCH ? AND m.agent_id = ? ORDER BY bm25(nexo_memories_fts), m.created_at DESC LIMIT ?`,
        [match, agent_id, limit],
      );
      return rows.map(toEntry);
    }
    const tsquery = terms.join(" | ");
    const rows = await this.store.query(
      `SELECT ${COLUMNS} FROM nexo_memories m, to_tsquery('simple', ?) q
       WHERE m.agent_id = ? AND m.search @@ q ORDER BY ts_rank(m.search, q) DESC, m.created_at DESC LIMIT ?`,
      [tsquery, agent_id, limit],
    );
    return rows.map(toEntry);
  }

  /** Forget one entry of `agent_id`; true when it existed. */
  async forget(agentId: string, id: string): Promise<boolean> {
    await this.init();
    const r = await this.store.exec("DELETE FROM nexo_memories WHERE agent_id = ? AND id = ?", [agentId, id]);
    return r.changes > 0;
  }
}

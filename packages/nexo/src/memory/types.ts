/** One memory as `memory.recall` returns it (contract shape). */
export interface MemoryEntry {
  id: string;
  agent_id: string;
  content: string;
  tags: string[];
  concept_tags: string[];
  /** ISO 8601 UTC. */
  created_at: string;
  memory_type: string;
}

/** What `remember` takes; `memory_type` defaults to "note". */
export interface RememberInput {
  agent_id: string;
  content: string;
  tags?: string[];
  concept_tags?: string[];
  memory_type?: string;
}

/** `memory.recall` params; `limit` default 10, at most 1000. */
export interface RecallInput {
  agent_id: string;
  query: string;
  limit?: number;
}

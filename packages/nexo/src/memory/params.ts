import { RpcError, RpcErrorCodes } from "../contract/index.js";
import type { RecallInput, RememberInput } from "./types.js";

export const DEFAULT_RECALL_LIMIT = 10;
export const MAX_RECALL_LIMIT = 1000;
export const MAX_CONTENT_CHARS = 65_536;
/** Most tags (and concept tags) on one memory, and the longest tag. */
export const MAX_TAGS = 64;
export const MAX_TAG_CHARS = 128;

const invalid = (message: string): RpcError => new RpcError(RpcErrorCodes.INVALID_PARAMS, message);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || s.length === 0 || s.length > MAX_TAG_CHARS) || v.length > MAX_TAGS) {
    throw invalid(`${field} must be an array of at most ${MAX_TAGS} non-empty strings (${MAX_TAG_CHARS} chars each)`);
  }
  return v as string[];
}

/** `memory.recall` params checked (-32602 otherwise): agent_id non-empty, query a string, limit an integer 1..1000. */
export function parseRecall(params: unknown): Required<RecallInput> {
  if (!isRecord(params)) throw invalid("memory.recall needs {agent_id, query, limit?}");
  const { agent_id, query, limit } = params;
  if (typeof agent_id !== "string" || agent_id.length === 0) throw invalid("memory.recall agent_id must be a non-empty string");
  if (typeof query !== "string") throw invalid("memory.recall query must be a string");
  if (limit !== undefined && limit !== null && (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_RECALL_LIMIT)) {
    throw invalid(`memory.recall limit must be an integer from 1 to ${MAX_RECALL_LIMIT}, got ${JSON.stringify(limit)}`);
  }
  return { agent_id, query, limit: (limit as number | undefined | null) ?? DEFAULT_RECALL_LIMIT };
}

/** A memory to write, checked (-32602 otherwise). */
export function parseRemember(params: unknown): Required<RememberInput> {
  if (!isRecord(params)) throw invalid("memory_remember needs {agent_id, content, tags?, concept_tags?, memory_type?}");
  const { agent_id, content, memory_type } = params;
  if (typeof agent_id !== "string" || agent_id.length === 0) throw invalid("agent_id must be a non-empty string");
  if (typeof content !== "string" || content.trim().length === 0 || content.length > MAX_CONTENT_CHARS) {
    throw invalid(`content must be a non-empty string of at most ${MAX_CONTENT_CHARS} characters`);
  }
  if (memory_type !== undefined && memory_type !== null && (typeof memory_type !== "string" || !/^[a-z][a-z0-9_]{0,31}$/.test(memory_type))) {
    throw invalid("memory_type must match ^[a-z][a-z0-9_]{0,31}$");
  }
  return {
    agent_id,
    content,
    tags: stringList(params.tags, "tags"),
    concept_tags: stringList(params.concept_tags, "concept_tags"),
    memory_type: (memory_type as string | undefined | null) ?? "note",
  };
}

/** The words of a free-text query (letters and digits), lower-cased, deduplicated, at most 32: safe to put in FTS5 / tsquery syntax. */
export function queryTerms(query: string): string[] {
  const words = (query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).filter((w) => w.length <= 64);
  return [...new Set(words)].slice(0, 32);
}

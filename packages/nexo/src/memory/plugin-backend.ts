import { uuidv7 } from "nexo-plugin-sdk";
import { Methods } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { PluginHost } from "../host/index.js";
import { LogThrottle } from "../host/index.js";
import type { Logger } from "../log/index.js";
import { MAX_CONTENT_CHARS, MAX_TAG_CHARS, MAX_TAGS, parseRecall, parseRemember } from "./params.js";
import type { MemoryEntry, RecallInput, RememberInput } from "./types.js";

/** Deadline of one `memory.vector_*` request. */
export const MEMORY_BACKEND_TIMEOUT_MS = 30_000;

/** The part of a plugin supervisor a backend needs. */
export interface MemoryPluginPeer {
  readonly key: string;
  call(method: string, params: unknown, timeoutMs: number): Promise<unknown>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A hit's tags as a memory may hold them: strings of 1-128 characters, at most 64; the rest is dropped. */
const tags = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string" && s.length > 0 && s.length <= MAX_TAG_CHARS).slice(0, MAX_TAGS) : [];
const MEMORY_TYPE = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * A memory backend served by a subprocess plugin listing it in
 * `[plugin.extends].memory_backends`. One collection per agent (its
 * `agent_id`); an entry travels as `{id, content, metadata}` with the
 * contract's memory fields in `metadata`:
 * `memory.vector_upsert {backend, collection, items}` -> `{upserted}`,
 * `memory.vector_search {backend, collection, query, limit}` -> `{hits: [{id, score, content, metadata}]}`,
 * `memory.vector_delete {backend, collection, ids}` -> `{deleted}`.
 * How text becomes vectors is the plugin's business.
 */
export class PluginMemoryBackend {
  /** Hits dropped because they were not `{id: string, content: string}`, and hits whose content or tags were cut to a memory's bounds. */
  readonly stats = { droppedHits: 0, cutHits: 0 };
  private readonly warnings = new LogThrottle({ burst: 5, refillMs: 10_000 });

  constructor(
    readonly name: string,
    private readonly peer: MemoryPluginPeer,
    private readonly timeoutMs = MEMORY_BACKEND_TIMEOUT_MS,
    private readonly logger?: Logger,
  ) {}

  get pluginKey(): string {
    return this.peer.key;
  }

  async remember(input: RememberInput): Promise<MemoryEntry> {
    const m = parseRemember(input);
    const entry: MemoryEntry = {
      id: uuidv7(),
      agent_id: m.agent_id,
      content: m.content,
      tags: m.tags,
      concept_tags: m.concept_tags,
      created_at: new Date().toISOString(),
      memory_type: m.memory_type,
    };
    const { id, content, ...metadata } = entry;
    await this.peer.call(Methods.MEMORY_VECTOR_UPSERT, { backend: this.name, collection: m.agent_id, items: [{ id, content, metadata }] }, this.timeoutMs);
    return entry;
  }

  async recall(input: RecallInput): Promise<MemoryEntry[]> {
    const { agent_id, query, limit } = parseRecall(input);
    const result = await this.peer.call(Methods.MEMORY_VECTOR_SEARCH, { backend: this.name, collection: agent_id, query, limit }, this.timeoutMs);
    const hits = isObj(result) && Array.isArray(result.hits) ? result.hits : [];
    // What the plugin answers becomes memories the host hands on (system prompts, plugins): held to the bounds a written memory has.
    const out: MemoryEntry[] = [];
    let dropped = isObj(result) && Array.isArray(result.hits) ? 0 : 1;
    let cut = 0;
    for (const h of hits) {
      if (out.length >= limit) break;
      if (!isObj(h) || typeof h.id !== "string" || h.id.length === 0 || h.id.length > 256 || typeof h.content !== "string") {
        dropped += 1;
        continue;
      }
      const md = isObj(h.metadata) ? h.metadata : {};
      const entry: MemoryEntry = {
        id: h.id,
        agent_id,
        content: h.content.length > MAX_CONTENT_CHARS ? h.content.slice(0, MAX_CONTENT_CHARS) : h.content,
        tags: tags(md.tags),
        concept_tags: tags(md.concept_tags),
        created_at: typeof md.created_at === "string" && md.created_at.length <= 64 ? md.created_at : new Date(0).toISOString(),
        memory_type: typeof md.memory_type === "string" && MEMORY_TYPE.test(md.memory_type) ? md.memory_type : "note",
      };
      if (
        entry.content !== h.content ||
        (Array.isArray(md.tags) && entry.tags.length !== md.tags.length) ||
        (Array.isArray(md.concept_tags) && entry.concept_tags.length !== md.concept_tags.length)
      )
        cut += 1;
      out.push(entry);
    }
    if (dropped > 0 || cut > 0) this.report(dropped, cut);
    return out;
  }

  private report(dropped: number, cut: number): void {
    this.stats.droppedHits += dropped;
    this.stats.cutHits += cut;
    const line = this.warnings.take("hits");
    if (line && this.logger)
      this.logger.warn(
        { backend: this.name, plugin: this.peer.key, dropped, cut, ...this.stats, ...(line.suppressed > 0 ? { suppressed: line.suppressed } : {}) },
        "memory backend plugin answered hits that are not {id, content} (dropped) or past a memory's bounds (cut)",
      );
  }

  async forget(agentId: string, id: string): Promise<boolean> {
    const result = await this.peer.call(Methods.MEMORY_VECTOR_DELETE, { backend: this.name, collection: agentId, ids: [id] }, this.timeoutMs);
    return isObj(result) && typeof result.deleted === "number" && result.deleted > 0;
  }
}

/** Where memory backend plugins are kept by name. */
export interface MemoryBackendRegistry {
  getBackend(name: string): PluginMemoryBackend | undefined;
  addBackend(backend: PluginMemoryBackend): void;
  removeBackendsOf(pluginKey: string): void;
}

/**
 * Make every plugin listing `[plugin.extends].memory_backends` a backend of
 * `registry` under each name; a name another plugin id already serves refuses
 * the plugin (NEXO_ERR_MEMORY_BACKEND_CONFLICT). Returns a function that detaches.
 */
export function attachMemoryBackendPlugins(host: PluginHost, registry: MemoryBackendRegistry, logger?: Logger): () => void {
  const offCheck = host.addValidator((spec) => {
    for (const name of spec.manifest.extends.memoryBackends) {
      const existing = registry.getBackend(name);
      if (!existing || host.get(existing.pluginKey)?.spec.manifest.id === spec.manifest.id) continue;
      throw new NexoError(
        ErrorCodes.MEMORY_BACKEND_CONFLICT,
        `plugin ${spec.manifest.id} (${spec.manifest.file}) serves memory backend "${name}", which plugin ${existing.pluginKey} already serves; rename one of them`,
        {
          pluginId: spec.manifest.id,
          field: "plugin.extends.memory_backends",
          data: { backend: name },
        },
      );
    }
  });
  const offAdded = host.onPluginAdded((sup) => {
    for (const name of sup.spec.manifest.extends.memoryBackends)
      if (!registry.getBackend(name)) registry.addBackend(new PluginMemoryBackend(name, sup, MEMORY_BACKEND_TIMEOUT_MS, logger));
  });
  // A plugin removed by a reload takes its backends with it, so a later plugin may serve the names.
  const offRemoved = host.onPluginRemoved((sup) => registry.removeBackendsOf(sup.key));
  return () => {
    offCheck();
    offAdded();
    offRemoved();
  };
}

import type { HostServiceHandler } from "../host/index.js";
import type { Logger } from "../log/index.js";
import { createStore, type Store } from "../store/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { MemoryStore } from "./memory-store.js";
import type { PluginMemoryBackend } from "./plugin-backend.js";
import { parseRecall } from "./params.js";
import type { MemoryEntry, RecallInput, RememberInput } from "./types.js";

/** JSON Schema of the `memory_remember` tool's arguments. */
export const REMEMBER_SCHEMA = {
  type: "object",
  required: ["agent_id", "content"],
  additionalProperties: false,
  properties: {
    agent_id: { type: "string", minLength: 1 },
    content: { type: "string", minLength: 1, maxLength: 65536 },
    tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 128 }, maxItems: 64 },
    concept_tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 128 }, maxItems: 64 },
    memory_type: { type: "string", pattern: "^[a-z][a-z0-9_]{0,31}$" },
  },
} as const;

/**
 * The embedded memory (`app.memory`): opens the daemon's store on first use,
 * serves `memory.recall` to plugins, and closes what it opened on stop.
 */
export class MemoryService {
  private opened: Promise<MemoryStore> | undefined;
  private ownedStore: Store | undefined;
  private openedStore: Store | undefined;
  private readonly backends = new Map<string, PluginMemoryBackend>();

  /**
   * `store`: a store URL to open on first use, or an open Store (left open by `close()`).
   * `defaultBackend`: a memory backend plugin's name to use instead of the store (`memory.backend`), or undefined.
   */
  constructor(
    private readonly store: string | Store,
    private readonly logger: Logger,
    readonly defaultBackend?: string,
  ) {}

  getBackend(name: string): PluginMemoryBackend | undefined {
    return this.backends.get(name);
  }

  /** Add a memory backend plugin (see attachMemoryBackendPlugins). */
  addBackend(backend: PluginMemoryBackend): void {
    this.backends.set(backend.name, backend);
    this.logger.info({ backend: backend.name, plugin: backend.pluginKey }, "memory backend added");
  }

  /** Forget the backends plugin `pluginKey` served (it was removed by a reload). */
  removeBackendsOf(pluginKey: string): void {
    for (const [name, b] of this.backends) {
      if (b.pluginKey !== pluginKey) continue;
      this.backends.delete(name);
      this.logger.info({ backend: name, plugin: pluginKey }, "memory backend removed");
    }
  }

  /** Names of the memory backend plugins. */
  listBackends(): string[] {
    return [...this.backends.keys()];
  }

  /**
   * The backend `name` (else the default) or the embedded store when neither is
   * set; an unknown name is NEXO_ERR_MEMORY_BACKEND_UNAVAILABLE.
   */
  private backend(name: string | undefined): PluginMemoryBackend | undefined {
    const wanted = name ?? this.defaultBackend;
    if (wanted === undefined || wanted === "embedded") return undefined;
    const b = this.backends.get(wanted);
    if (!b) {
      throw new NexoError(
        ErrorCodes.MEMORY_BACKEND_UNAVAILABLE,
        `memory backend "${wanted}" is not served by any plugin (available: ${["embedded", ...this.backends.keys()].join(", ")}); add a plugin listing it in [plugin.extends].memory_backends`,
        {
          data: { backend: wanted },
        },
      );
    }
    return b;
  }

  private memory(): Promise<MemoryStore> {
    this.opened ??= (async () => {
      let store: Store;
      if (typeof this.store === "string") {
        store = await createStore(this.store, { logger: this.logger });
        this.ownedStore = store;
      } else store = this.store;
      this.openedStore = store;
      const mem = new MemoryStore(store);
      await mem.init();
      this.logger.debug({ store: store.url }, "memory ready");
      return mem;
    })();
    // A failed open (bad URL, database down) is retried on the next call rather than cached.
    this.opened.catch(() => (this.opened = undefined));
    return this.opened;
  }

  /** The app's store as memory opened it (on first use; closed with the app): agent conversations live there too. */
  async openStore(): Promise<Store> {
    await this.memory();
    return this.openedStore!;
  }

  /** Write a memory; `backend` names a memory backend plugin (default: `memory.backend`, else the embedded store). */
  async remember(input: RememberInput, backend?: string): Promise<MemoryEntry> {
    const b = this.backend(backend);
    return b ? b.remember(input) : (await this.memory()).remember(input);
  }

  async recall(input: RecallInput, backend?: string): Promise<MemoryEntry[]> {
    const b = this.backend(backend);
    return b ? b.recall(input) : (await this.memory()).recall(input);
  }

  async forget(agentId: string, id: string, backend?: string): Promise<boolean> {
    const b = this.backend(backend);
    return b ? b.forget(agentId, id) : (await this.memory()).forget(agentId, id);
  }

  /** The `memory.recall` host service: `{agent_id, query, limit}` -> `{entries}`; bad params -32602. */
  hostService(): HostServiceHandler {
    return async (params) => {
      const input = parseRecall(params);
      return { entries: await this.recall(input) };
    };
  }

  /** Close the store this service opened (a Store passed in stays open). */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) await opened.catch(() => undefined);
    const owned = this.ownedStore;
    this.ownedStore = undefined;
    await owned?.close();
  }
}

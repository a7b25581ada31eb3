export { MemoryService, REMEMBER_SCHEMA } from "./memory-service.js";
export { MemoryStore } from "./memory-store.js";
export { attachMemoryBackendPlugins, MEMORY_BACKEND_TIMEOUT_MS, PluginMemoryBackend, type MemoryBackendRegistry, type MemoryPluginPeer } from "./plugin-backend.js";
export { MEMORY_MIGRATIONS } from "./migrations.js";
export { DEFAULT_RECALL_LIMIT, MAX_RECALL_LIMIT, parseRecall, parseRemember } from "./params.js";
export type { MemoryEntry, RecallInput, RememberInput } from "./types.js";

export { loadConfig, normalizeConfig, bundledExamplesDir, DEFAULT_DEMO_PLUGINS } from "./load-config.js";
export { configSchema } from "./schema.js";
export type { NexoConfig, PluginInstanceConfig } from "./load-config.js";

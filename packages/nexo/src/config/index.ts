export { loadConfig, normalizeConfig, bundledExamplesDir } from "./load-config.js";
export { configSchema } from "./schema.js";
export type { NexoConfig, PluginInstanceConfig } from "./load-config.js";

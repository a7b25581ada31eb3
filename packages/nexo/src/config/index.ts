export { loadConfig, normalizeConfig, bundledExamplesDir, bundledDemoWorkflows, DEFAULT_DEMO_PLUGINS } from "./load-config.js";
export { configSchema } from "./schema.js";
export type { InProcessPluginConfig, NexoConfig, PluginInstanceConfig } from "./load-config.js";

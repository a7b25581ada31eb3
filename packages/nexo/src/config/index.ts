export { loadConfig, normalizeConfig, bundledExamplesDir, bundledDemoWorkflows, DEFAULT_DEMO_PLUGINS } from "./load-config.js";
export { configSchema } from "./schema.js";
export type { BindingConfig, InProcessPluginConfig, NexoConfig, PluginInstanceConfig } from "./load-config.js";

export { loadConfig, normalizeConfig, bundledExamplesDir, bundledDemoConfig } from "./load-config.js";
export { configSchema } from "./schema.js";
export type { NormalizeConfigOptions, BindingConfig, InProcessPluginConfig, NexoConfig, PluginInstanceConfig } from "./load-config.js";

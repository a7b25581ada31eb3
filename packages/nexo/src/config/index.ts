export { loadConfig, normalizeConfig, bundledExamplesDir, bundledDemoConfig, defaultMcpStateDir } from "./load-config.js";
export { configSchema } from "./schema.js";
export type { LoadConfigOptions, NormalizeConfigOptions, BindingConfig, InProcessPluginConfig, NexoConfig, PluginInstanceConfig } from "./load-config.js";

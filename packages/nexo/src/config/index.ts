export { loadConfig, normalizeConfig, bundledExamplesDir, bundledDemoConfig, defaultMcpStateDir } from "./load-config.js";
export { configSchema } from "./schema.js";
export { llmConfigSchema, llmConfigFromYaml } from "./llm-config.js";
export { loadPollersConfig, normalizePollersConfig, pollersConfigSchema, POLLER_KINDS } from "./pollers-config.js";
export type { PollerJobConfig, PollersConfig, PollerSchedule } from "./pollers-config.js";
export type { LoadConfigOptions, NormalizeConfigOptions, BindingConfig, InProcessPluginConfig, NexoConfig, PluginInstanceConfig } from "./load-config.js";
export { clusterConfigFromYaml, clusterConfigSchema } from "./cluster-config.js";
export type { ClusterConfig } from "./cluster-config.js";

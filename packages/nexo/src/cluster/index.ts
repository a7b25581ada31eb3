export { clusterConfigFromYaml, clusterConfigSchema } from "./config.js";
export type { ClusterConfig } from "./config.js";
export { brokerClusterOptions } from "./broker-options.js";

export { clusterConfigFromYaml, clusterConfigSchema } from "./config.js";
export type { ClusterConfig } from "./config.js";
export { brokerClusterOptions } from "./broker-options.js";
export { attachCluster, clusterNodeId } from "./attach.js";
export { ClusterTools, TOOL_SUBJECTS } from "./cluster-tools.js";
export type { ClusterToolsOptions } from "./cluster-tools.js";

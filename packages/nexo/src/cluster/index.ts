export { brokerClusterOptions } from "./broker-options.js";
export { attachCluster, clusterNodeId } from "./attach.js";
export { ClusterTools, TOOL_SUBJECTS } from "./cluster-tools.js";
export type { ClusterToolsOptions } from "./cluster-tools.js";
export { kvKey, SharedKv } from "./shared-kv.js";

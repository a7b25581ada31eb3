import type { CreateBrokerOptions } from "../broker/index.js";
import type { ClusterConfig } from "./config.js";

/** The broker options a `cluster:` block asks for (work sharing, durable paths). */
export function brokerClusterOptions(cluster: ClusterConfig): Pick<CreateBrokerOptions, "workSharing" | "durable"> {
  return { workSharing: cluster.workSharing, ...(cluster.durable ? { durable: cluster.durable } : {}) };
}

import type { CreateBrokerOptions } from "../broker/index.js";
import type { ClusterConfig } from "../config/index.js";

/** The broker options a `cluster:` block asks for (work sharing, durable paths; the local broker keeps those in `store`). */
export function brokerClusterOptions(cluster: ClusterConfig, store: string): Pick<CreateBrokerOptions, "workSharing" | "durable" | "store"> {
  return { workSharing: cluster.workSharing, store, ...(cluster.durable ? { durable: cluster.durable } : {}) };
}

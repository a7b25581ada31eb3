import type { CreateBrokerOptions } from "../broker/index.js";
import type { ClusterConfig } from "../config/index.js";

/** The broker options a `cluster:` block asks for (work sharing, durable paths, loss accounting; the local broker keeps durable paths in `store`). */
export function brokerClusterOptions(cluster: ClusterConfig, store: string): Pick<CreateBrokerOptions, "workSharing" | "durable" | "store" | "lossAccounting"> {
  return { workSharing: cluster.workSharing, store, lossAccounting: cluster.lossAccounting, ...(cluster.durable ? { durable: cluster.durable } : {}) };
}

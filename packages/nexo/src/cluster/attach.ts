import { hostname } from "node:os";
import type { Nexo } from "../app/index.js";
import { NatsBroker } from "../broker/index.js";
import { ClusterTools } from "./cluster-tools.js";
import type { ClusterConfig } from "../config/index.js";

/** This daemon's name in the cluster: the configured one, else `<hostname>-<pid>` made a valid subject token. */
export function clusterNodeId(cluster: ClusterConfig): string {
  return cluster.nodeId ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

/**
 * Make `app` a cluster member when its broker is NATS: its plugin tools are
 * announced and the others' tools are offered (a service started after the
 * plugins, stopped before them). On the local broker there is no cluster: nothing to do.
 */
export function attachCluster(app: Nexo, cluster: ClusterConfig): ClusterTools | null {
  if (!(app.broker instanceof NatsBroker) || !cluster.shareTools) return null;
  const tools = new ClusterTools({
    nc: app.broker.connection,
    app,
    nodeId: clusterNodeId(cluster),
    logger: app.logger.child({ component: "cluster-tools" }),
    announceMs: cluster.toolsAnnounceMs,
    ttlMs: cluster.toolsTtlMs,
  });
  app.addService({ name: "cluster-tools", after: "plugins", start: () => tools.start(), stop: () => tools.stop() });
  return tools;
}

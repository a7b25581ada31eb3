import type { DurableOptions, LossLedgerOptions } from "../broker/index.js";

/** `cluster:` of nexo.yaml, normalized (docs/cluster.md). */
export interface ClusterConfig {
  /** Worker subscriptions (plugin delivery, bindings) join queue groups: one delivery per group in the cluster. */
  workSharing: boolean;
  /** Topic patterns delivered at-least-once (NATS: JetStream), with their limits; null when none. */
  durable: DurableOptions | null;
  /** Announce this daemon's plugin tools on NATS and call other daemons' tools. */
  shareTools: boolean;
  /** How often the tool list is announced; a daemon's tools are forgotten after `toolsTtlMs` without one. */
  toolsAnnounceMs: number;
  toolsTtlMs: number;
  /** This daemon's name in the cluster. Default `<hostname>-<pid>`. */
  nodeId: string | null;
  /** NATS: count at-most-once events possibly lost around outages (sync markers the other brokers confirm); false turns it off. */
  lossAccounting: LossLedgerOptions | false;
}

/** JSON Schema of `cluster:`. */
export const clusterConfigSchema = {
  type: "object",
  additionalProperties: false,
  description: "Several daemons on one NATS: work sharing, durable paths, tools across daemons (docs/cluster.md).",
  properties: {
    work_sharing: { type: "boolean", description: "Plugins and bindings share each event with their copies on other daemons (queue groups). Default true." },
    node_id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
    durable: {
      type: "object",
      additionalProperties: false,
      required: ["patterns"],
      description: "Topic patterns whose events survive outages and restarts (NATS: JetStream).",
      properties: {
        patterns: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
        stream: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
        max_deliver: { type: "integer", minimum: 1, maximum: 1000 },
        ack_wait_ms: { type: "integer", minimum: 100 },
        publish_timeout_ms: { type: "integer", minimum: 1 },
        publish_buffer: { type: "integer", minimum: 1, maximum: 1048576 },
        max_age_ms: { type: "integer", minimum: 1000 },
        max_bytes: { type: "integer", minimum: 1024 },
        max_msgs: { type: "integer", minimum: 1 },
        duplicate_window_ms: { type: "integer", minimum: 100 },
        prefetch: { type: "integer", minimum: 1, maximum: 10000 },
      },
    },
    loss_accounting: {
      type: "object",
      additionalProperties: false,
      description: "NATS: count at-most-once events possibly lost around outages, confirmed by the other daemons (docs/cluster.md).",
      properties: {
        enabled: { type: "boolean", description: "Default true." },
        sync_interval_ms: { type: "integer", minimum: 10, maximum: 60000, description: "Sync markers while publishing. Default 100." },
        peer_ttl_ms: { type: "integer", minimum: 100, description: "A daemon silent this long is no longer waited for. Default 10000." },
      },
    },
    tools: {
      type: "object",
      additionalProperties: false,
      properties: {
        share: { type: "boolean", description: "Announce and call plugin tools across daemons (NATS only). Default true." },
        announce_interval_ms: { type: "integer", minimum: 100 },
        ttl_ms: { type: "integer", minimum: 200 },
      },
    },
  },
} as const;

/** Apply the defaults to a parsed (schema-checked) `cluster:` block. */
export function clusterConfigFromYaml(raw: Record<string, any> | undefined): ClusterConfig {
  const r = raw ?? {};
  const d = r.durable as Record<string, any> | undefined;
  const announce = r.tools?.announce_interval_ms ?? 2000;
  const durable: DurableOptions | null = d
    ? stripUndefined({
        patterns: d.patterns as string[],
        stream: d.stream,
        maxDeliver: d.max_deliver,
        ackWaitMs: d.ack_wait_ms,
        publishTimeoutMs: d.publish_timeout_ms,
        publishBuffer: d.publish_buffer,
        maxAgeMs: d.max_age_ms,
        maxBytes: d.max_bytes,
        maxMsgs: d.max_msgs,
        duplicateWindowMs: d.duplicate_window_ms,
        prefetch: d.prefetch,
      })
    : null;
  return {
    workSharing: r.work_sharing ?? true,
    durable,
    shareTools: r.tools?.share ?? true,
    toolsAnnounceMs: announce,
    toolsTtlMs: r.tools?.ttl_ms ?? announce * 3,
    nodeId: r.node_id ?? null,
    lossAccounting:
      r.loss_accounting?.enabled === false ? false : stripUndefined({ syncIntervalMs: r.loss_accounting?.sync_interval_ms, peerTtlMs: r.loss_accounting?.peer_ttl_ms }),
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { LocalBroker } from "./local-broker.js";
import type { DurableOptions } from "./durable-paths.js";
import { NatsBroker } from "./nats-broker.js";
import type { Broker } from "./types.js";

/** What a config's `broker` setting may say. */
export type BrokerUrl = "local" | `nats://${string}`;

/** Options of `createBroker`; passed to the broker chosen. */
export interface CreateBrokerOptions {
  /** Logs drops, handler errors and (NATS) connection changes. Default: none. */
  logger?: Logger;
  /** Per-subscriber buffer when `subscribe` does not say. Default 256. */
  defaultBufferSize?: number;
  /** Honour `SubscribeOptions.queue` (one delivery per work-sharing group). Default true. */
  workSharing?: boolean;
  /** NATS only: topic patterns delivered at-least-once through JetStream (docs/cluster.md). */
  durable?: DurableOptions;
}

/**
 * Build the broker a config names: `local` (in-process) or a `nats://` URL
 * (connects before resolving; NEXO_ERR_BROKER_CONNECT on failure). Anything
 * else is NEXO_ERR_CONFIG_INVALID.
 * @example const broker = await createBroker(config.broker, { logger });
 */
export async function createBroker(url: BrokerUrl | string, options: CreateBrokerOptions = {}): Promise<Broker> {
  if (url === "local") {
    const { durable: _durable, ...local } = options;
    return new LocalBroker(local);
  }
  if (typeof url === "string" && url.startsWith("nats://") && url.length > "nats://".length) return NatsBroker.connect(url, options);
  throw new NexoError(ErrorCodes.CONFIG_INVALID, `broker must be "local" or a nats:// URL, got ${JSON.stringify(url)}`, { field: "broker", data: { value: url } });
}

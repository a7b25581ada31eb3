import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { createStore } from "../store/index.js";
import { LocalBroker } from "./local-broker.js";
import { LocalDurable } from "./local-durable.js";
import type { DurableOptions } from "./durable-paths.js";
import type { LossLedgerOptions } from "./loss-ledger.js";
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
  /** Topic patterns delivered at least once: through JetStream on NATS, through `store` on the local broker (docs/cluster.md). */
  durable?: DurableOptions;
  /** The store URL the local broker keeps durable events in (the config's `store`). */
  store?: string;
  /** NATS only: the at-most-once loss accounting (docs/cluster.md); false turns it off. Default on. */
  lossAccounting?: LossLedgerOptions | false;
}

/**
 * Build the broker a config names: `local` (in-process) or a `nats://` URL
 * (connects before resolving; NEXO_ERR_BROKER_CONNECT on failure). Anything
 * else is NEXO_ERR_CONFIG_INVALID.
 * @example const broker = await createBroker(config.broker, { logger });
 */
export async function createBroker(url: BrokerUrl | string, options: CreateBrokerOptions = {}): Promise<Broker> {
  if (url === "local") {
    const { durable, store, lossAccounting: _nats, ...local } = options;
    if (!durable || durable.patterns.length === 0) return new LocalBroker(local);
    if (!store) throw new NexoError(ErrorCodes.CONFIG_INVALID, "durable paths on the local broker need a store (store: sqlite:... or postgres://...)", { field: "store" });
    const s = await createStore(store, { ...(options.logger ? { logger: options.logger } : {}) });
    try {
      const kept = await LocalDurable.open(
        s,
        { patterns: durable.patterns, ...(durable.maxDeliver !== undefined ? { maxDeliver: durable.maxDeliver } : {}), ownsStore: true },
        options.logger,
      );
      return new LocalBroker({ ...local, durable: kept });
    } catch (err) {
      await s.close();
      throw err;
    }
  }
  if (typeof url === "string" && url.startsWith("nats://") && url.length > "nats://".length) return NatsBroker.connect(url, options);
  throw new NexoError(ErrorCodes.CONFIG_INVALID, `broker must be "local" or a nats:// URL, got ${JSON.stringify(url)}`, { field: "broker" });
}

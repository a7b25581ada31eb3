import type { Registry } from "prom-client";
import type { Broker } from "../broker/index.js";
import type { NexoConfig } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { PollerService, type DeliverToAgent } from "../pollers/index.js";

/** What the daemon hands the pollers besides its config. */
export interface DaemonPollerOptions {
  deliverToAgent?: DeliverToAgent;
  registry?: Registry;
}

/**
 * The YAML-only pollers when the config has any (inline, `pollers: <file>` or a
 * pollers.yaml beside nexo.yaml), not started yet; their state goes to
 * `state_db`, else the daemon's `store`. Null when there is no pollers configuration.
 */
export function createPollers(config: NexoConfig, broker: Broker, logger: Logger, options: DaemonPollerOptions): PollerService | null {
  if (!config.pollers) return null;
  return new PollerService({
    config: config.pollers,
    broker,
    logger: logger.child({ component: "pollers" }),
    defaultStoreUrl: config.store,
    ...(options.deliverToAgent ? { deliverToAgent: options.deliverToAgent } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
  });
}

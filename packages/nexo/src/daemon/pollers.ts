import type { Registry } from "prom-client";
import type { Broker } from "../broker/index.js";
import type { NexoConfig } from "../config/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { PollerService, type DeliverToAgent } from "../pollers/index.js";
import { ControlMethods, type ControlHandler } from "../surfaces/control/index.js";

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

/** The `poller.*` control methods: the service's, or ones that explain there are no pollers. */
export function pollerControlHandlers(service: PollerService | null): Record<string, ControlHandler> {
  if (service) return service.controlHandlers();
  const none = (): never => {
    throw new NexoError(ErrorCodes.POLLER_DISABLED, "this daemon has no pollers configured (add `pollers:` to nexo.yaml or a pollers.yaml beside it)");
  };
  return {
    [ControlMethods.POLLER_LIST]: () => ({ enabled: false, source: null, jobs: [] }),
    [ControlMethods.POLLER_RUN]: none,
    [ControlMethods.POLLER_PAUSE]: none,
    [ControlMethods.POLLER_RESUME]: none,
    [ControlMethods.POLLER_RESET]: none,
  };
}

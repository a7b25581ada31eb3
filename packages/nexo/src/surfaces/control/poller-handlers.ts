import { ErrorCodes, NexoError } from "../../errors.js";
import type { PollerService } from "../../pollers/index.js";
import type { ControlHandler } from "./control-server.js";
import { ControlMethods } from "./protocol.js";

/**
 * The `poller.*` control methods behind `nexo pollers ...`: the service's, or,
 * with no service (no pollers configured), ones that say so.
 */
export function pollerControlHandlers(service: PollerService | null): Record<string, ControlHandler> {
  if (!service || !service.config.enabled) {
    const none = (): never => {
      throw new NexoError(
        ErrorCodes.POLLER_DISABLED,
        service
          ? "pollers are disabled (enabled: false in the pollers configuration)"
          : "this daemon has no pollers configured (add `pollers:` to nexo.yaml or a pollers.yaml beside it)",
      );
    };
    return {
      [ControlMethods.POLLER_LIST]: () => ({ enabled: false, source: service?.config.source ?? null, jobs: [] }),
      [ControlMethods.POLLER_RUN]: none,
      [ControlMethods.POLLER_PAUSE]: none,
      [ControlMethods.POLLER_RESUME]: none,
      [ControlMethods.POLLER_RESET]: none,
    };
  }
  const id = (params: unknown): string => {
    const v = params && typeof params === "object" ? (params as Record<string, unknown>).id : undefined;
    if (typeof v !== "string" || v.length === 0) throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, 'missing parameter "id" (a job id)', { field: "id" });
    return v;
  };
  return {
    [ControlMethods.POLLER_LIST]: async () => ({ enabled: true, source: service.config.source, jobs: await service.list() }),
    [ControlMethods.POLLER_RUN]: async (p) => service.run(id(p)),
    [ControlMethods.POLLER_PAUSE]: async (p) => {
      const reason = (p as Record<string, unknown> | undefined)?.reason;
      return service.pause(id(p), typeof reason === "string" && reason.length > 0 ? reason : undefined);
    },
    [ControlMethods.POLLER_RESUME]: async (p) => service.resume(id(p)),
    [ControlMethods.POLLER_RESET]: async (p) => service.reset(id(p)),
  };
}

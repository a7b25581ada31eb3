import type { Registry } from "prom-client";
import type { Nexo } from "../../app/index.js";
import type { Unsubscribe } from "../../app/index.js";

// Per app, so several apps in one process never see each other's metrics.
const contributed = new WeakMap<Nexo, Set<Registry>>();

/**
 * Let a component (a service, a poller, another plugin) expose its own
 * prom-client `Registry` on the app's `/metrics`: MonitoringPlugin merges every
 * contributed registry at scrape time. Works whether MonitoringPlugin is added
 * before or after, or not at all (then nothing is served). Metric names must
 * not clash with nexo's (`nexo_*`) or another contributor's: a clashing
 * registry is left out of the scrape and logged.
 * @example
 * const registry = new Registry();
 * new Counter({ name: "pollers_runs_total", help: "Poll runs", registers: [registry] });
 * const off = contributeMetrics(app, registry);
 */
export function contributeMetrics(app: Nexo, registry: Registry): Unsubscribe {
  let set = contributed.get(app);
  if (!set) contributed.set(app, (set = new Set()));
  set.add(registry);
  return () => void set.delete(registry);
}

/** Registries contributed to `app`, in contribution order. */
export function contributedRegistries(app: Nexo): Registry[] {
  return [...(contributed.get(app) ?? [])];
}

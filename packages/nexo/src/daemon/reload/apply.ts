import type { Nexo } from "../../app/index.js";
import type { BindingsService } from "../../bindings/index.js";
import type { NexoConfig } from "../../config/index.js";
import { Methods } from "../../contract/index.js";
import { pluginKey, type PluginSpec } from "../../host/index.js";
import type { PollerService } from "../../pollers/index.js";
import type { ReloadPlan, ReloadState } from "./plan.js";
import { errorMessage } from "../../util/index.js";

/** What a reload did: the plan, and how it went. */
export interface ReloadReport extends ReloadPlan {
  /** Plugins of `reconfigure` that did not accept `plugin.configure` and were restarted with the new config. */
  restarted: string[];
  /** Plugins added or restarted that did not come up (the config was valid; the plugin itself failed, as it would at start). */
  failed: Array<{ key: string; error: string }>;
}

/** The parts of a running daemon a reload changes. */
export interface ReloadTarget {
  app: Nexo;
  bindings: BindingsService;
  /** The YAML pollers, or null when the daemon has none yet. */
  pollers: PollerService | null;
  /** Create and start the pollers service for `config` (the daemon started without one). */
  startPollers(config: NexoConfig): Promise<void>;
  /** Keys of the plugins the config manages; kept up to date as plugins are removed and added. */
  configured: Set<string>;
}

/**
 * Apply `plan` (from `planReload`) to a running daemon, moving it to `next`.
 * Order: plugins that go or restart are stopped first (through the host's
 * own stop path: before-stop hooks, `shutdown`, grace, kill), so a replaced
 * plugin never runs twice; then bindings and providers change; then new and
 * restarted plugins start, after the bindings that listen to them, as at
 * start; then the pollers that feed them. Plugins in `keep` are never
 * touched: their process, subscriptions and queued events stay as they are.
 */
export async function applyReload(target: ReloadTarget, plan: ReloadPlan, next: ReloadState): Promise<ReloadReport> {
  const { app } = target;
  const host = app.host;
  const specs = new Map<string, PluginSpec>(next.plugins.map((s) => [pluginKey(s), s]));
  const toStart: string[] = [...plan.plugins.add];
  const restarted: string[] = [];

  const remove = async (key: string, reason: string): Promise<void> => {
    await host.remove(key, reason);
    target.configured.delete(key);
  };
  for (const key of plan.plugins.remove) await remove(key, "removed from the config");
  for (const key of plan.plugins.replace) {
    const spec = specs.get(key)!;
    const sup = host.get(key);
    if (sup && plan.reconfigure.includes(key)) {
      // A config its schema refuses was caught before the plan; should one slip through, the restart reports it as `failed`.
      if (await sup.reconfigure(spec.config).catch(() => false)) continue;
      restarted.push(key);
    }
    if (sup) await remove(key, "config changed");
    toStart.push(key);
  }

  if (changed(plan.bindings)) await target.bindings.update(app, next.bindings);

  if (changed(plan.providers) || plan.settings.includes("llm.default")) {
    app.llm.reconfigure(next.config.llm);
    // Providers may have appeared: plugins' llm.complete is served from now on (the service answers "not configured" itself when none are left).
    app.host.setHostService(Methods.LLM_COMPLETE, app.llm.hostService());
  }
  if (plan.settings.includes("log_level")) app.logger.level = next.config.logLevel;

  const failed: ReloadReport["failed"] = [];
  const fail = (key: string, err: unknown): void => void failed.push({ key, error: errorMessage(err) });
  const starting = toStart.map(async (key) => {
    try {
      // Through the host's normal path: whatever follows plugins (tools, routes, channels) sees it added, then starting.
      const sup = host.add(specs.get(key)!);
      target.configured.add(key);
      await sup.start();
    } catch (err) {
      fail(key, err);
    }
  });
  await Promise.all(starting);

  if (changed(plan.pollers)) {
    if (target.pollers) await target.pollers.updateJobs(next.config.pollers?.jobs ?? []);
    else if (next.config.pollers) await target.startPollers(next.config);
  }

  const needsRestart = [...plan.needsRestart];
  for (const prefix of [...plan.routes.add, ...plan.routes.replace]) if (!app.proxy.isRouted(prefix)) needsRestart.push(`routes: ${prefix}`);
  return { ...plan, needsRestart, restarted, failed: failed.sort((a, b) => a.key.localeCompare(b.key)) };
}

function changed(c: { add: string[]; replace: string[]; remove: string[] }): boolean {
  return c.add.length + c.replace.length + c.remove.length > 0;
}

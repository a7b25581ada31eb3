import type { NexoConfig } from "../../config/index.js";
import type { Logger } from "../../log/index.js";
import { applyReload, type ReloadReport, type ReloadTarget } from "./apply.js";
import { appliedConfig, isEmptyPlan, planReload, type ReloadState } from "./plan.js";
import { prepareReload } from "./prepare.js";

/** What a Reloader needs from its daemon. */
export interface ReloaderOptions {
  /** Read and validate the config file again (the loader the daemon started with). */
  load: () => NexoConfig;
  /** What runs now. */
  current: () => ReloadState;
  /** The parts a reload changes. */
  target: () => ReloadTarget;
  /** Called with the config in force once a reload was applied. */
  commit: (config: NexoConfig) => void;
  logger: Logger;
}

/**
 * `nexo reload` and SIGHUP: read the config again, check all of it, plan the
 * difference with what runs, apply it. Reloads run one at a time, in the
 * order asked. A config that does not pass changes nothing: the error is
 * logged and thrown (NEXO_ERR_CONFIG_PARSE / NEXO_ERR_CONFIG_INVALID).
 */
export class Reloader {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ReloaderOptions) {}

  /** Reload now (after any reload already running); resolves with what changed. */
  reload(): Promise<ReloadReport> {
    const run = this.queue.then(() => this.run());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once no reload is running (a stopping daemon waits for it). */
  async settled(): Promise<void> {
    await this.queue;
  }

  private async run(): Promise<ReloadReport> {
    const { logger } = this.options;
    const target = this.options.target();
    let next: ReloadState;
    try {
      next = await prepareReload(this.options.load, target.app);
    } catch (err) {
      logger.error({ code: (err as { code?: unknown }).code, err: (err as Error).message }, "config not reloaded: nothing changed");
      throw err;
    }
    const current = this.options.current();
    const plan = planReload(current, next);
    if (isEmptyPlan(plan)) {
      logger.info("config reloaded: nothing changed");
      return { ...plan, restarted: [], failed: [] };
    }
    const report = await applyReload(target, plan, next);
    this.options.commit(appliedConfig(current.config, next.config));
    logger.info({ ...summary(report), ...(report.restarted.length ? { restarted: report.restarted } : {}) }, "config reloaded");
    for (const f of report.failed) logger.error({ plugin: f.key, err: f.error }, "plugin did not start after the reload");
    if (report.needsRestart.length) logger.warn({ needsRestart: report.needsRestart }, "some changed settings take effect only when the daemon restarts");
    return report;
  }
}

/** The changed names per kind, for one log line (kept ones left out). */
function summary(r: ReloadReport): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kind of ["plugins", "routes", "bindings", "pollers", "providers"] as const) {
    const { add, replace, remove } = r[kind];
    if (add.length + replace.length + remove.length) out[kind] = { add, replace, remove };
  }
  if (r.reconfigure.length) out.reconfigured = r.reconfigure.filter((k) => !r.restarted.includes(k));
  if (r.settings.length) out.settings = r.settings;
  return out;
}

import { internalPrincipal } from "../authz/index.js";
import type { Nexo } from "../app/index.js";
import type { NexoService, Principal, ServiceHealth } from "../app/index.js";
import { errorMessage } from "../util/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { principalScope } from "../runs/index.js";
import { nextTick, type ScheduleConfig } from "../config/index.js";
import { LogThrottle } from "../host/index.js";
import { ScheduleStore } from "./schedule-store.js";

/** Options of `ScheduleService`. */
export interface ScheduleServiceOptions {
  /** How long a no-overlap lease lives without renewal (a daemon that died frees it after this), in ms. Default 60000. */
  leaseTtlMs?: number;
}

/** Longest single timer: longer waits are re-armed (setTimeout's limit is about 24.8 days). */
const MAX_TIMER_MS = 3_600_000;

interface Armed {
  config: ScheduleConfig;
  timer: NodeJS.Timeout | undefined;
  /** Ticks this daemon started and whose run has not ended. */
  running: number;
  fired: number;
  skipped: number;
  /** Ticks that failed to start a run (a full runs queue, a refusal, a store error). */
  refused: number;
  lastError: string | null;
}

/**
 * Runs workflows on their schedules (nexo.yaml `schedules:`), as runs of
 * channel `schedule` (so through the middleware chain, visible in `nexo runs`).
 * Every daemon sharing the store arms the same ticks; the one whose insert of
 * the tick wins runs it. Without `overlap`, a lease held for the whole run makes
 * a tick that comes while the previous run still runs (anywhere) a skip.
 */
export class ScheduleService implements NexoService {
  readonly name = "schedules";
  readonly after = "plugins" as const;
  private readonly armed = new Map<string, Armed>();
  private readonly inFlight = new Set<Promise<void>>();
  private ticks: ScheduleStore | undefined;
  private stopped = false;
  private readonly leaseTtlMs: number;
  /** A tick failing every second logs a few lines, then one per minute per schedule. */
  private readonly warnings = new LogThrottle({ burst: 3, refillMs: 60_000 });

  constructor(
    private readonly app: Nexo,
    readonly schedules: readonly ScheduleConfig[],
    options: ScheduleServiceOptions = {},
  ) {
    this.leaseTtlMs = options.leaseTtlMs ?? 60_000;
  }

  /** Throws NEXO_ERR_SCHEDULE_INVALID when a schedule names a workflow the app does not have. */
  checkWorkflows(): void {
    for (const s of this.schedules) {
      if (!this.app.getWorkflow(s.workflow)) {
        throw new NexoError(ErrorCodes.SCHEDULE_INVALID, `schedule ${s.name}: no workflow named "${s.workflow}"`, { field: `schedules.${s.name}.workflow` });
      }
    }
  }

  async start(): Promise<void> {
    this.checkWorkflows();
    this.ticks = new ScheduleStore(await this.app.runs.store());
    await this.ticks.migrate();
    for (const config of this.schedules) {
      if (!config.enabled) continue;
      const a: Armed = { config, timer: undefined, running: 0, fired: 0, skipped: 0, refused: 0, lastError: null };
      this.armed.set(config.name, a);
      this.arm(a, Date.now());
    }
  }

  /** The store's record of a schedule's recent ticks. */
  async recentTicks(name: string, limit = 100) {
    if (!this.ticks) return [];
    return this.ticks.ticks(name, limit);
  }

  private arm(a: Armed, after: number): void {
    if (this.stopped) return;
    const tick = nextTick(a.config, after);
    if (!Number.isFinite(tick)) return;
    const jitter = a.config.jitterMs > 0 ? Math.random() * a.config.jitterMs : 0;
    const wait = tick + jitter - Date.now();
    if (wait > MAX_TIMER_MS) {
      a.timer = setTimeout(() => this.arm(a, after), MAX_TIMER_MS);
    } else {
      a.timer = setTimeout(
        () => {
          // Arm the next tick first: a long run never delays the ones after it.
          this.arm(a, tick);
          const task = this.fire(a, tick);
          this.inFlight.add(task);
          void task.finally(() => this.inFlight.delete(task));
        },
        Math.max(0, wait),
      );
    }
    a.timer.unref();
  }

  private async fire(a: Armed, tick: number): Promise<void> {
    const { config } = a;
    const ticks = this.ticks!;
    const holder = this.app.runs.nodeId;
    // The lease names the tick, not only the daemon: this daemon's own next tick must not renew it.
    const leaseHolder = `${holder}@${tick}`;
    let leased = false;
    let renew: NodeJS.Timeout | undefined;
    try {
      if (!(await ticks.claimTick(config.name, tick, holder, Date.now()))) return; // another daemon has this tick
      if (!config.overlap) {
        leased = await ticks.takeLease(config.name, leaseHolder, Date.now(), this.leaseTtlMs);
        if (!leased) {
          a.skipped += 1;
          await ticks.setOutcome(config.name, tick, "skipped_overlap", null);
          this.app.logger.info({ schedule: config.name, tick: new Date(tick).toISOString() }, "schedule tick skipped: the previous run is still running");
          return;
        }
        renew = setInterval(
          () => void ticks.takeLease(config.name, leaseHolder, Date.now(), this.leaseTtlMs).catch(() => undefined),
          Math.max(50, Math.floor(this.leaseTtlMs / 3)),
        );
        renew.unref();
      }
      const principal: Principal = internalPrincipal("schedule", config.name);
      const out = await this.app.runs.start(config.workflow, structuredClone(config.inputs), {
        channel: "schedule",
        principal,
        scope: principalScope(principal),
        sessionId: `schedule:${config.name}`,
        // Without overlap the lease allows one run at a time, so it starts at once; with overlap every tick
        // would add one more run, so those wait in the runs queue and a full queue refuses the tick.
        immediate: !config.overlap,
      });
      if (!out.created) return;
      a.fired += 1;
      a.running += 1;
      await ticks.setOutcome(config.name, tick, "started", out.id);
      const record = await out.done;
      a.running -= 1;
      if (record.status !== "completed") a.lastError = record.error ? `${record.error.code}: ${record.error.message}` : record.status;
    } catch (err) {
      a.lastError = errorMessage(err);
      a.refused += 1;
      const line = this.stopped ? null : this.warnings.take(config.name);
      if (line)
        this.app.logger.warn(
          { schedule: config.name, err: a.lastError, refused: a.refused, ...(line.suppressed > 0 ? { suppressed: line.suppressed } : {}) },
          "schedule tick failed",
        );
      await ticks.setOutcome(config.name, tick, "refused", null).catch(() => undefined);
    } finally {
      if (renew) clearInterval(renew);
      if (leased) await ticks.releaseLease(config.name, leaseHolder).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.armed.values()) if (a.timer) clearTimeout(a.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  health(): ServiceHealth {
    const details: Record<string, unknown> = {};
    for (const [name, a] of this.armed) details[name] = { fired: a.fired, skipped: a.skipped, refused: a.refused, running: a.running, lastError: a.lastError };
    return { status: "ok", details };
  }
}

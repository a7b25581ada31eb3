import { Cron } from "croner";
import { ErrorCodes, NexoError } from "../errors.js";

/** Longest random delay of a tick (the schema's bound, also held for entries that did not come through it). */
const MAX_JITTER_SECONDS = 3600;

/** One `schedules:` entry, checked, with defaults applied. */
export interface ScheduleConfig {
  /** Unique; names the schedule in the store, in logs and in the run's session (`schedule:<name>`). */
  name: string;
  workflow: string;
  /** Cron expression (5 fields, or 6 starting with seconds); exclusive with `everySeconds`. */
  cron?: string;
  /** IANA time zone of `cron`. Default UTC. */
  timezone?: string;
  /** Fire every N seconds, on multiples of N since the epoch (so daemons agree on the ticks). */
  everySeconds?: number;
  /** The workflow's inputs. Default {}. */
  inputs: Record<string, unknown>;
  /** Random delay added to each tick, up to this many ms. Default 0. */
  jitterMs: number;
  /** Start a tick while the previous run is still running. Default false (that tick is skipped). */
  overlap: boolean;
  /** Default true. */
  enabled: boolean;
}

/**
 * Check `schedules:` as parsed from YAML (the schema has checked the types):
 * exactly one of `cron` / `every_seconds`, a cron expression croner accepts,
 * a known time zone, unique names. NEXO_ERR_SCHEDULE_INVALID names the entry.
 */
export function parseSchedules(raw: ReadonlyArray<Record<string, any>>, file: string | null = null): ScheduleConfig[] {
  const seen = new Set<string>();
  return raw.map((e, i) => {
    const where = `${file ?? "config"}: schedules[${i}]${typeof e.name === "string" ? ` (${e.name})` : ""}`;
    const fail = (msg: string, field: string): never => {
      throw new NexoError(ErrorCodes.SCHEDULE_INVALID, `${where}: ${msg}`, { field: `schedules[${i}].${field}`, ...(file ? { file } : {}) });
    };
    if (typeof e.name !== "string" || e.name.length === 0) fail("needs a name", "name");
    if (seen.has(e.name)) fail(`the name ${e.name} is used twice`, "name");
    seen.add(e.name);
    if (typeof e.workflow !== "string" || e.workflow.length === 0) fail("needs a workflow", "workflow");
    const hasCron = e.cron !== undefined;
    const hasEvery = e.every_seconds !== undefined;
    if (hasCron === hasEvery) fail("give exactly one of cron or every_seconds", hasCron ? "every_seconds" : "cron");
    if (e.timezone !== undefined && !hasCron) fail("timezone applies to cron only", "timezone");
    if (hasCron) {
      let next: Date | null = null;
      try {
        next = new Cron(e.cron, { paused: true, ...(e.timezone ? { timezone: e.timezone } : {}) }).nextRun();
      } catch (err) {
        fail(`invalid cron ${JSON.stringify(e.cron)}${e.timezone ? ` or time zone ${JSON.stringify(e.timezone)}` : ""}: ${(err as Error).message}`, "cron");
      }
      // An expression with no next instant (a 30th of February) would be armed never, in silence.
      if (next === null) fail(`cron ${JSON.stringify(e.cron)} never fires`, "cron");
    }
    if (hasEvery && (!Number.isInteger(e.every_seconds) || e.every_seconds < 1))
      fail(`every_seconds must be a positive integer, got ${JSON.stringify(e.every_seconds)}`, "every_seconds");
    if (e.inputs !== undefined && (e.inputs === null || typeof e.inputs !== "object" || Array.isArray(e.inputs))) fail("inputs must be a mapping", "inputs");
    const jitter = e.jitter_seconds ?? 0;
    if (typeof jitter !== "number" || !Number.isFinite(jitter) || jitter < 0 || jitter > MAX_JITTER_SECONDS)
      fail(`jitter_seconds must be a number from 0 to ${MAX_JITTER_SECONDS}, got ${JSON.stringify(jitter)}`, "jitter_seconds");
    // A delay as long as the period would fire ticks out of order and back to back.
    if (hasEvery && jitter >= e.every_seconds) fail(`jitter_seconds (${jitter}) must be shorter than every_seconds (${e.every_seconds})`, "jitter_seconds");
    return {
      name: e.name,
      workflow: e.workflow,
      ...(hasCron ? { cron: e.cron as string } : {}),
      ...(e.timezone ? { timezone: e.timezone as string } : {}),
      ...(hasEvery ? { everySeconds: e.every_seconds as number } : {}),
      inputs: (e.inputs as Record<string, unknown> | undefined) ?? {},
      jitterMs: Math.round(jitter * 1000),
      overlap: e.overlap === true,
      enabled: e.enabled !== false,
    };
  });
}

/**
 * The first tick strictly after `after` (ms): the cron expression's next
 * instant in its time zone, or the next multiple of `everySeconds` since the
 * epoch. Infinity when a cron expression never fires again.
 */
export function nextTick(schedule: Pick<ScheduleConfig, "cron" | "timezone" | "everySeconds">, after: number): number {
  if (schedule.cron !== undefined) {
    const at = new Cron(schedule.cron, { paused: true, ...(schedule.timezone ? { timezone: schedule.timezone } : {}) }).nextRun(new Date(after));
    return at ? at.getTime() : Number.POSITIVE_INFINITY;
  }
  const every = schedule.everySeconds! * 1000;
  return (Math.floor(after / every) + 1) * every;
}

import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { Ajv } from "ajv";
import { Cron } from "croner";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { validateTopic } from "../broker/index.js";
import { ErrorCodes, NexoError, violationLine, type Violation } from "../errors.js";
import { ajvViolation } from "../util/index.js";

/** Job kinds this daemon can run. */
export const POLLER_KINDS = ["webhook_poll", "rss"] as const;

/** A job's schedule: a fixed interval, or a cron expression read in a time zone. */
export interface PollerSchedule {
  /** Seconds between the end of one run and the start of the next (fractions allowed). */
  everySecs?: number;
  /** 5- or 6-field cron expression (croner syntax; 6 fields start with seconds). */
  cron?: string;
  /** IANA time zone the cron expression is read in. Default UTC. */
  tz?: string;
  /** Random delay added to each run, in ms. Default: the top-level `default_jitter_ms`. */
  jitterMs?: number;
}

/** One job of `pollers.yaml`, defaults applied. */
export interface PollerJobConfig {
  id: string;
  kind: (typeof POLLER_KINDS)[number];
  /** Deliver each new item to this agent too (through the daemon's `deliverToAgent`). */
  agent?: string;
  /** Broker topic for new items. Default `plugin.inbound.poller.<id>`. */
  topic: string;
  schedule: PollerSchedule;
  /** Kind-specific options, checked when the service starts (a bad one pauses this job only). */
  config: Record<string, unknown>;
  /** Persist `paused` when the service starts. Default false. */
  pausedOnBoot: boolean;
  /** Deadline of one fetch, in seconds. Default: the top-level `timeout_secs`. */
  timeoutSecs: number;
  /** Allow loopback / private / link-local targets for this job. Default: the top-level setting. */
  allowPrivateNetworks: boolean;
}

/** The `pollers` section (inline, or from `pollers.yaml`), defaults applied and paths made absolute. */
export interface PollersConfig {
  /** Where the section came from (a file, or the nexo.yaml holding it inline). */
  source: string | null;
  /** Master switch. Default true. */
  enabled: boolean;
  /** Store URL for cursors, seen ids and leases; null = the daemon's `store`. */
  stateDb: string | null;
  /** Jitter for jobs whose schedule sets none, in ms. Default 1000. */
  defaultJitterMs: number;
  /** Consecutive transient errors that open a job's circuit breaker. Default 5. */
  breakerThreshold: number;
  /** How long an open breaker waits before its half-open probe, in seconds (doubles per reopen, max 32x). Default 60. */
  breakerCooldownSecs: number;
  /** Lifetime of a run's lease (renewed while the run lasts); a dead holder's lease frees after this. Default 30. */
  leaseTtlSecs: number;
  /** Runs in flight at once across all jobs. Default 16. */
  maxConcurrency: number;
  /** Fetch deadline for jobs that set none, in seconds. Default 30. */
  timeoutSecs: number;
  /** Allow loopback / private / link-local targets for every job. Default false. */
  allowPrivateNetworks: boolean;
  jobs: PollerJobConfig[];
}

const JOB_ID = "^[a-z0-9][a-z0-9_-]{0,63}$";

/** JSON Schema of the `pollers` section (the reference system's operator shape). */
export const pollersConfigSchema = {
  $id: "https://nexo.dev/schemas/pollers.yaml.json",
  type: "object",
  additionalProperties: false,
  properties: {
    enabled: { type: "boolean" },
    state_db: { type: "string", minLength: 1, description: "A SQLite path, sqlite:<path>, or a postgres:// URL. Default: the daemon's store." },
    default_jitter_ms: { type: "integer", minimum: 0, maximum: 3_600_000 },
    breaker_threshold: { type: "integer", minimum: 1, maximum: 1000 },
    breaker_cooldown_secs: { type: "number", exclusiveMinimum: 0, maximum: 86_400 },
    lease_ttl_secs: { type: "number", exclusiveMinimum: 0, maximum: 86_400 },
    max_concurrency: { type: "integer", minimum: 1, maximum: 1024 },
    timeout_secs: { type: "number", exclusiveMinimum: 0, maximum: 3600 },
    allow_private_networks: { type: "boolean" },
    jobs: { type: "array", items: { $ref: "#/$defs/job" } },
  },
  $defs: {
    job: {
      type: "object",
      additionalProperties: false,
      required: ["id", "kind", "schedule"],
      properties: {
        id: { type: "string", pattern: JOB_ID },
        kind: { enum: [...POLLER_KINDS] },
        agent: { type: "string", minLength: 1, maxLength: 128 },
        topic: { type: "string", minLength: 1 },
        schedule: {
          type: "object",
          additionalProperties: false,
          properties: {
            every_secs: { type: "number", exclusiveMinimum: 0, maximum: 31_536_000 },
            cron: { type: "string", minLength: 1 },
            tz: { type: "string", minLength: 1 },
            jitter_ms: { type: "integer", minimum: 0, maximum: 3_600_000 },
          },
        },
        config: { type: "object" },
        paused_on_boot: { type: "boolean" },
        timeout_secs: { type: "number", exclusiveMinimum: 0, maximum: 3600 },
        allow_private_networks: { type: "boolean" },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSection = ajv.compile(pollersConfigSchema);

/**
 * Resolve the `pollers` key of nexo.yaml: an inline mapping, a path to a
 * pollers.yaml (relative to nexo.yaml), or, when the key is absent, a
 * `pollers.yaml` beside the config file if there is one. A pollers.yaml may
 * hold the section itself or wrap it in `pollers:` (the reference layout).
 * Returns null when there is no pollers configuration.
 * Errors: NEXO_ERR_CONFIG_PARSE / NEXO_ERR_CONFIG_INVALID naming the file and every violation.
 */
export function loadPollersConfig(value: unknown, configFile: string | null, baseDir: string): PollersConfig | null {
  if (value === undefined || value === null) {
    const beside = configFile ? resolve(dirname(configFile), "pollers.yaml") : null;
    if (!beside || !existsSync(beside)) return null;
    return normalizePollersConfig(readPollersFile(beside), beside, dirname(beside));
  }
  if (typeof value === "string") {
    const file = isAbsolute(value) ? value : resolve(baseDir, value);
    if (!existsSync(file))
      throw new NexoError(ErrorCodes.CONFIG_INVALID, `${configFile ?? "config"}: pollers: file not found: ${file}`, { file: configFile ?? undefined, field: "pollers" });
    return normalizePollersConfig(readPollersFile(file), file, dirname(file));
  }
  return normalizePollersConfig(value, configFile, baseDir);
}

function readPollersFile(file: string): unknown {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8")) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : "";
    throw new NexoError(ErrorCodes.CONFIG_PARSE, `${file}${where}: ${(err as Error).message.split("\n")[0]}`, { file, cause: err });
  }
  // The reference system's files wrap the section in `pollers:`.
  if (raw && typeof raw === "object" && !Array.isArray(raw) && Object.keys(raw).length === 1 && "pollers" in raw) return (raw as { pollers: unknown }).pollers ?? {};
  return raw;
}

/** Validate a parsed `pollers` section and apply defaults. `baseDir` resolves a relative `state_db`. */
export function normalizePollersConfig(raw: unknown, source: string | null, baseDir: string): PollersConfig {
  const where = source ?? "pollers";
  // Paths are JSON Pointers into the pollers section (its own file, or `pollers:` of nexo.yaml).
  const fail = (violations: Violation[]): never => {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `${where}: pollers configuration is invalid:\n  ${violations.map(violationLine).join("\n  ")}`, {
      file: source ?? undefined,
      field: "pollers",
      data: { violations },
    });
  };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail([{ path: "", message: "the pollers section must be a mapping (enabled, state_db, jobs, ...)" }]);
  if (!validateSection(raw)) fail((validateSection.errors ?? []).map(ajvViolation));
  const r = raw as Record<string, any>;
  const problems: Violation[] = [];
  const ids = new Set<string>();
  const defaults = { timeoutSecs: r.timeout_secs ?? 30, allowPrivate: r.allow_private_networks ?? false };
  const jobs: PollerJobConfig[] = (r.jobs ?? []).map((j: Record<string, any>, i: number) => {
    const at = `/jobs/${i}`;
    const job = `job ${JSON.stringify(j.id)}`;
    if (ids.has(j.id)) problems.push({ path: `${at}/id`, message: `duplicate job id ${JSON.stringify(j.id)}` });
    ids.add(j.id);
    const s = j.schedule as Record<string, any>;
    if ((s.every_secs === undefined) === (s.cron === undefined)) problems.push({ path: `${at}/schedule`, message: `${job}: set exactly one of every_secs or cron` });
    if (s.tz !== undefined && s.cron === undefined) problems.push({ path: `${at}/schedule/tz`, message: `${job}: a time zone only applies to cron` });
    if (s.cron !== undefined) {
      try {
        new Cron(s.cron, { paused: true, ...(s.tz ? { timezone: s.tz } : {}) }).nextRun();
      } catch (err) {
        problems.push({ path: `${at}/schedule/cron`, message: `${job}: ${(err as Error).message}` });
      }
    }
    const topic = j.topic ?? `plugin.inbound.poller.${j.id}`;
    try {
      validateTopic(topic);
    } catch (err) {
      problems.push({ path: `${at}/topic`, message: `${job}: ${(err as Error).message}` });
    }
    return {
      id: j.id,
      kind: j.kind,
      ...(j.agent !== undefined ? { agent: j.agent } : {}),
      topic,
      schedule: {
        ...(s.every_secs !== undefined ? { everySecs: s.every_secs } : {}),
        ...(s.cron !== undefined ? { cron: s.cron } : {}),
        ...(s.tz !== undefined ? { tz: s.tz } : {}),
        ...(s.jitter_ms !== undefined ? { jitterMs: s.jitter_ms } : {}),
      },
      config: j.config ?? {},
      pausedOnBoot: j.paused_on_boot ?? false,
      timeoutSecs: j.timeout_secs ?? defaults.timeoutSecs,
      allowPrivateNetworks: j.allow_private_networks ?? defaults.allowPrivate,
    };
  });
  if (problems.length) fail(problems);
  return {
    source,
    enabled: r.enabled ?? true,
    stateDb: r.state_db === undefined ? null : toStoreUrl(r.state_db, baseDir),
    defaultJitterMs: r.default_jitter_ms ?? 1000,
    breakerThreshold: r.breaker_threshold ?? 5,
    breakerCooldownSecs: r.breaker_cooldown_secs ?? 60,
    leaseTtlSecs: r.lease_ttl_secs ?? 30,
    maxConcurrency: r.max_concurrency ?? 16,
    timeoutSecs: defaults.timeoutSecs,
    allowPrivateNetworks: defaults.allowPrivate,
    jobs,
  };
}

/** `state_db` as a store URL: URLs pass through; a bare path (the reference's `./data/poller.db`) is a SQLite file. */
function toStoreUrl(value: string, baseDir: string): string {
  if (/^postgres(ql)?:\/\//.test(value)) return value;
  const path = value.startsWith("sqlite:") ? value.slice("sqlite:".length) : value;
  if (path === ":memory:") return "sqlite::memory:";
  return `sqlite:${isAbsolute(path) ? path : resolve(baseDir, path)}`;
}

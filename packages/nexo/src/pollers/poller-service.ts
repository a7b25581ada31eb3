import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Registry } from "prom-client";
import type { Broker } from "../broker/index.js";
import { newEvent } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { createStore, type Store } from "../store/index.js";
import { Limiter } from "../util/index.js";
import { breakerGate, breakerGaugeValue, recordSuccess, recordTransient, type FailurePolicy } from "./circuit-breaker.js";
import { FetchAgents, fetchFeed } from "./http-fetch.js";
import { POLLER_KIND_REGISTRY, type FeedJobOptions, type PolledItem, type PollerKind } from "./kinds/index.js";
import { configError, PollError, toPollError, type PollErrorClass } from "./poll-error.js";
import { PollerMetrics } from "./poller-metrics.js";
import { emptyState, PollerStateStore, type JobState } from "./poller-state.js";
import { describeJob } from "./job-status.js";
import type { PollerJobConfig, PollersConfig } from "../config/index.js";
import { JobSchedule } from "./schedule.js";
import type { DeliverToAgent, JobCounters, JobStatus, RunResult, RunStatus } from "./types.js";

/** Options of `new PollerService()`. */
export interface PollerServiceOptions {
  config: PollersConfig;
  broker: Broker;
  logger: Logger;
  /** Store URL when the config sets no `state_db` (the daemon's `store`). Default `sqlite::memory:` (state lost on exit). */
  defaultStoreUrl?: string;
  /** Use this store instead of opening one; `stop()` leaves it open. */
  store?: Store;
  /** Needed by jobs with `agent:`; without it such jobs are paused with the reason. */
  deliverToAgent?: DeliverToAgent;
  /** Registry the metrics are registered on. Default: a new one (see `registry`). */
  registry?: Registry;
  /** Clock for leases, breaker and schedule decisions, ms. Default `Date.now`. */
  now?: () => number;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Run jobs on their schedules. False: only `run(id)` runs them (tests, tools). Default true. */
  scheduling?: boolean;
  /** Environment `${VAR}` in urls and headers is read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Lease holder name. Default `<hostname>:<pid>:<random>`. */
  holder?: string;
}

interface Job {
  cfg: PollerJobConfig;
  kind: PollerKind<FeedJobOptions>;
  options: FeedJobOptions | null;
  invalid: PollError | null;
  schedule: JobSchedule;
  timer: NodeJS.Timeout | undefined;
  running: Promise<RunResult> | undefined;
  abort: AbortController | undefined;
  counters: JobCounters;
  /** State as of this process's last look (for `stats()`). */
  state: JobState;
  warnedRingTooSmall: boolean;
  /** Taken away by `updateJobs`: never scheduled again. */
  removed: boolean;
}

/** Timers are capped so a far cron instant is re-checked rather than overflowing setTimeout. */
const MAX_TIMER_MS = 3_600_000;
/** A run is "due" this early (timers may fire a hair before the stored instant). */
const DUE_TOLERANCE_MS = 20;

/**
 * Runs the YAML-only pollers: each job fetches on its schedule, delivers only
 * items it has not seen (bounded ring per job, in the store) to its broker
 * topic and, with `agent:`, to `deliverToAgent`. A lease in the store keeps two
 * daemons from running one job at once; transient errors back off with jitter
 * and open a per-job circuit breaker; permanent ones pause the job with the
 * reason. Runs are bounded by a per-job deadline and a global concurrency limit.
 * `stop()` cancels timers, aborts runs in flight, releases their leases and
 * closes the store it opened.
 * @example
 * const pollers = new PollerService({ config: config.pollers, broker, logger, defaultStoreUrl: config.store });
 * await pollers.start();
 */
export class PollerService {
  /** Registry holding the pollers' metrics. */
  readonly registry: Registry;
  private readonly metrics: PollerMetrics;
  private readonly jobs = new Map<string, Job>();
  private readonly agents = new FetchAgents();
  private readonly runs: Limiter;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly holder: string;
  private readonly policy: FailurePolicy;
  private store: Store | undefined;
  private state: PollerStateStore | undefined;
  private started = false;
  private starting: Promise<void> | undefined;
  private stopping = false;

  constructor(private options: PollerServiceOptions) {
    const c = options.config;
    this.registry = options.registry ?? new Registry();
    this.metrics = new PollerMetrics(this.registry);
    this.runs = new Limiter(c.maxConcurrency);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
    this.policy = { threshold: c.breakerThreshold, cooldownMs: c.breakerCooldownSecs * 1000, backoffBaseMs: 1000, backoffMaxMs: 300_000 };
    for (const cfg of c.jobs) this.jobs.set(cfg.id, this.makeJob(cfg));
  }

  private makeJob(cfg: PollerJobConfig): Job {
    const { options } = this;
    const kind = POLLER_KIND_REGISTRY.get(cfg.kind)!;
    let parsed: FeedJobOptions | null = null;
    let invalid: PollError | null = null;
    try {
      parsed = kind.parse(cfg.config, options.env ?? process.env);
      if (cfg.agent !== undefined && !options.deliverToAgent) {
        throw configError(`job delivers to agent "${cfg.agent}", but this daemon has no agent delivery wired; use topic: instead, or run it where agents are`);
      }
    } catch (err) {
      invalid = toPollError(err);
    }
    return {
      cfg,
      kind,
      options: parsed,
      invalid,
      schedule: new JobSchedule(cfg.schedule, options.config.defaultJitterMs),
      timer: undefined,
      running: undefined,
      abort: undefined,
      counters: { runs: 0, itemsEmitted: 0, errors: {}, lastLatencyMs: null, lastSuccessAt: null, lastStatus: null },
      state: emptyState(cfg.id),
      warnedRingTooSmall: false,
      removed: false,
    };
  }

  /** Job ids, in config order. */
  get jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * Open and migrate the store, pause jobs whose config is invalid (with the
   * reason) or that say `paused_on_boot`, then schedule every job. A disabled
   * section (`enabled: false`) starts nothing.
   */
  start(): Promise<void> {
    // A second call (a service added to a running app is started for it) waits for the first.
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { config, logger } = this.options;
    if (!config.enabled) {
      logger.info({ jobs: this.jobs.size }, "pollers disabled (enabled: false)");
      return;
    }
    this.store = this.options.store ?? (await createStore(config.stateDb ?? this.options.defaultStoreUrl ?? "sqlite::memory:", { logger }));
    this.state = new PollerStateStore(this.store);
    await this.state.migrate();
    await this.activate([...this.jobs.values()]);
    logger.info({ jobs: this.jobs.size, store: this.store.url, holder: this.holder }, "pollers started");
  }

  /** Pause jobs whose config is invalid or that say `paused_on_boot`, load their stored state and schedule them. */
  private async activate(jobs: readonly Job[]): Promise<void> {
    const { config, logger } = this.options;
    const state = this.state!;
    const now = this.now();
    for (const job of jobs) {
      if (job.invalid) {
        logger.error({ job: job.cfg.id, code: job.invalid.code, err: job.invalid.message }, "poller job paused: invalid config");
        await state.setPaused(job.cfg.id, true, reasonOf(job.invalid), now);
      } else if (job.cfg.pausedOnBoot) {
        await state.setPaused(job.cfg.id, true, "paused_on_boot", now);
      }
    }
    const states = await state.loadAll();
    for (const job of jobs) {
      job.state = states.get(job.cfg.id) ?? emptyState(job.cfg.id);
      this.updateGauges(job);
      if (this.options.scheduling === false) continue;
      // First runs spread over the jitter window; a job run recently (by anyone) waits for its stored due time.
      const spread = this.random() * Math.min(config.defaultJitterMs, 5000);
      this.scheduleAt(job, Math.max(now + spread, job.state.nextRunAt ?? 0));
    }
  }

  /**
   * Run `jobs` from now on (a config reload; the section's shared settings
   * stay as they were). Jobs gone or changed are cancelled, a run in flight
   * aborted (its lease released); new and changed ones start as at `start()`,
   * from their stored state (a changed job keeps its seen ids and cursor).
   * Unchanged jobs are not touched.
   */
  async updateJobs(jobs: readonly PollerJobConfig[]): Promise<void> {
    const wanted = new Map(jobs.map((j) => [j.id, JSON.stringify(j)]));
    for (const [id, job] of [...this.jobs]) {
      if (wanted.get(id) === JSON.stringify(job.cfg)) continue;
      job.removed = true;
      clearTimeout(job.timer);
      job.abort?.abort();
      await job.running?.catch(() => undefined);
      this.jobs.delete(id);
    }
    const kept = new Map(this.jobs);
    this.jobs.clear();
    const added: Job[] = [];
    for (const cfg of jobs) {
      let job = kept.get(cfg.id);
      if (!job) added.push((job = this.makeJob(cfg)));
      this.jobs.set(cfg.id, job);
    }
    this.options = { ...this.options, config: { ...this.options.config, jobs: [...jobs] } };
    if (this.state && !this.stopping && this.options.config.enabled && added.length) await this.activate(added);
    this.options.logger.info({ jobs: this.jobs.size, started: added.map((j) => j.cfg.id) }, "poller jobs updated");
  }

  /** Cancel timers, abort runs in flight (their leases are released), close the store this service opened. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer);
      job.abort?.abort();
    }
    await Promise.allSettled([...this.jobs.values()].map((j) => j.running));
    this.agents.destroy();
    if (this.store && !this.options.store) await this.store.close();
    this.options.logger.info("pollers stopped");
  }

  /**
   * Run a job now, whatever its schedule, pause or breaker (a successful run
   * closes the breaker; a paused job stays paused). With `force: false` the run
   * is the scheduler's: skipped when paused, breaker-open or not due. The lease
   * always applies: `skipped_lease` when another daemon is running the job.
   */
  async run(id: string, options: { force?: boolean } = {}): Promise<RunResult> {
    const job = this.require(id);
    return this.execute(job, options.force !== false);
  }

  /** Pause a job (persisted, so every daemon on the store sees it). */
  async pause(id: string, reason = "paused by operator"): Promise<JobStatus> {
    const job = this.require(id);
    await this.state!.setPaused(id, true, reason, this.now());
    return this.statusOf(job);
  }

  /** Resume a paused job; it is due at once. */
  async resume(id: string): Promise<JobStatus> {
    const job = this.require(id);
    await this.state!.setPaused(id, false, null, this.now());
    if (this.options.scheduling !== false && !job.running) this.scheduleAt(job, this.now());
    return this.statusOf(job);
  }

  /**
   * Forget a job's cursor, seen ids, errors, breaker and pause: its next run
   * delivers every item in the feed again. NEXO_ERR_POLLER_BUSY while a run holds the lease.
   */
  async reset(id: string): Promise<JobStatus> {
    const job = this.require(id);
    const state = this.state!;
    if (job.running || !(await state.acquireLease(id, this.holder, this.leaseTtlMs(), this.now()))) {
      throw new NexoError(ErrorCodes.POLLER_BUSY, `poller ${id} is running right now; try again when the run is over`, { field: id });
    }
    try {
      await state.reset(id);
    } finally {
      await state.releaseLease(id, this.holder);
    }
    if (job.invalid) await state.setPaused(id, true, reasonOf(job.invalid), this.now());
    if (this.options.scheduling !== false) this.scheduleAt(job, this.now());
    return this.statusOf(job);
  }

  /** Every job's status, read from the store (so it covers runs by other daemons) plus this process's counters. */
  async list(): Promise<JobStatus[]> {
    this.requireStarted();
    const [states, leases] = await Promise.all([this.state!.loadAll(), this.state!.leases(this.now())]);
    return [...this.jobs.values()].map((job) => {
      job.state = states.get(job.cfg.id) ?? emptyState(job.cfg.id);
      return this.describe(job, leases.get(job.cfg.id) ?? null);
    });
  }

  /** This process's view of every job, synchronously (state as of its last run or `list()`). */
  stats(): JobStatus[] {
    return [...this.jobs.values()].map((job) => this.describe(job, job.running ? this.holder : null));
  }

  /** The pollers section this service runs. */
  get config(): PollersConfig {
    return this.options.config;
  }

  private require(id: string): Job {
    this.requireStarted();
    const job = this.jobs.get(id);
    if (!job) throw new NexoError(ErrorCodes.POLLER_NOT_FOUND, `no poller job "${id}"; \`nexo pollers list\` shows the jobs`, { field: id });
    return job;
  }

  private requireStarted(): void {
    if (!this.options.config.enabled) throw new NexoError(ErrorCodes.POLLER_DISABLED, "pollers are disabled (enabled: false in the pollers configuration)");
    if (!this.state) throw new NexoError(ErrorCodes.POLLER_DISABLED, "the poller service is not started");
    if (this.stopping) throw new NexoError(ErrorCodes.POLLER_DISABLED, "the poller service is stopping");
  }

  private leaseTtlMs(): number {
    return this.options.config.leaseTtlSecs * 1000;
  }

  private scheduleAt(job: Job, at: number): void {
    if (this.stopping || job.removed) return;
    clearTimeout(job.timer);
    if (!Number.isFinite(at)) return; // a cron expression that never fires again
    const delay = Math.min(Math.max(0, at - this.now()), MAX_TIMER_MS);
    job.timer = setTimeout(() => void this.tick(job, at), delay);
  }

  private async tick(job: Job, dueAt: number): Promise<void> {
    job.timer = undefined;
    if (this.stopping) return;
    if (this.now() + DUE_TOLERANCE_MS < dueAt) return this.scheduleAt(job, dueAt); // a capped timer: not due yet
    const result = await this.execute(job, false);
    if (this.stopping || job.timer) return;
    const next = result.nextRunAt ? Date.parse(result.nextRunAt) : job.schedule.next(this.now(), this.random);
    this.scheduleAt(job, next);
  }

  private execute(job: Job, manual: boolean): Promise<RunResult> {
    // Already running here (a manual run racing the timer): try again a whole interval later, not in a tight loop.
    if (job.running) return Promise.resolve(this.skipped(job, "skipped_running", job.schedule.next(this.now(), this.random)));
    const abort = new AbortController();
    job.abort = abort;
    const p = this.runGuarded(job, manual, abort.signal).finally(() => {
      job.running = undefined;
      job.abort = undefined;
    });
    job.running = p;
    return p;
  }

  private async runGuarded(job: Job, manual: boolean, signal: AbortSignal): Promise<RunResult> {
    const slot = this.runs.acquire(Infinity);
    if (slot !== true) await slot;
    try {
      return await this.runLeased(job, manual, signal);
    } catch (err) {
      // Store failures (and bugs) land here: counted, logged, retried on the normal schedule.
      const e = toPollError(err);
      this.count(job, "transient", e.errorClass);
      this.options.logger.warn({ job: job.cfg.id, code: e.code, err: e.message }, "poller run failed before fetching");
      return {
        id: job.cfg.id,
        status: "transient",
        itemsEmitted: 0,
        itemsSeen: 0,
        durationMs: 0,
        error: { code: e.code, class: e.errorClass, message: e.message },
        nextRunAt: null,
      };
    } finally {
      this.runs.release();
    }
  }

  private async runLeased(job: Job, manual: boolean, signal: AbortSignal): Promise<RunResult> {
    const state = this.state!;
    const id = job.cfg.id;
    // Cheap read first: skipped runs (paused, breaker open, run elsewhere) take no lease.
    const seen = await state.load(id);
    job.state = seen;
    const skip = manual ? null : this.skipReason(job, seen);
    if (skip) return skip;
    const ttl = this.leaseTtlMs();
    if (!(await state.acquireLease(id, this.holder, ttl, this.now()))) {
      return this.skipped(job, "skipped_lease", job.schedule.next(this.now(), this.random));
    }
    const lease = { lost: false };
    const heartbeat = setInterval(
      () => {
        state.renewLease(id, this.holder, ttl, this.now()).then(
          (ours) => {
            if (ours || lease.lost) return;
            lease.lost = true;
            this.options.logger.warn({ job: id }, "poller lease lost mid-run; aborting the run");
            job.abort?.abort();
          },
          (err) => this.options.logger.warn({ job: id, err: (err as Error).message }, "poller lease renewal failed"),
        );
      },
      Math.max(10, ttl / 3),
    );
    try {
      // Re-read under the lease: another daemon may have run the job since the first read.
      const s = await state.load(id);
      job.state = s;
      const lateSkip = manual ? null : this.skipReason(job, s);
      if (lateSkip) return lateSkip;
      return await this.poll(job, s, manual, signal, lease);
    } finally {
      clearInterval(heartbeat);
      await state
        .releaseLease(id, this.holder)
        .catch((err) => this.options.logger.warn({ job: id, err: (err as Error).message }, "poller lease release failed (it expires on its own)"));
    }
  }

  private skipReason(job: Job, s: JobState): RunResult | null {
    const now = this.now();
    if (s.paused) return this.skipped(job, "skipped_paused", job.schedule.next(now, this.random));
    if (breakerGate(s, now) === "wait") return this.skipped(job, "skipped_breaker", s.breakerUntil);
    if (s.nextRunAt !== null && s.nextRunAt > now + DUE_TOLERANCE_MS) return this.skipped(job, "skipped_not_due", s.nextRunAt);
    return null;
  }

  private async poll(job: Job, s: JobState, manual: boolean, signal: AbortSignal, lease: { lost: boolean }): Promise<RunResult> {
    const { cfg } = job;
    const started = this.now();
    const t0 = process.hrtime.bigint();
    if (breakerGate(s, started) === "probe") s.breakerState = "half_open";
    let emitted = 0;
    let itemsSeen = 0;
    let failure: PollError | null = job.invalid;
    let status: RunStatus = "ok";
    if (!failure) {
      const opts = job.options!;
      try {
        const outcome = await job.kind.poll(opts, {
          cursor: { etag: s.etag, lastModified: s.lastModified },
          now: this.now,
          fetch: (req) =>
            fetchFeed(
              req,
              {
                timeoutMs: cfg.timeoutSecs * 1000,
                maxBodyBytes: opts.maxBodyBytes,
                allowPrivateNetworks: opts.allowPrivateNetworks ?? cfg.allowPrivateNetworks,
                maxRedirects: 5,
                signal,
              },
              this.agents,
            ),
        });
        itemsSeen = outcome.items.length;
        if (outcome.notModified) status = "not_modified";
        const delivered = await this.deliverNew(job, s, outcome.items, opts, signal);
        emitted = delivered.emitted;
        if (delivered.error) failure = delivered.error;
        else if (delivered.complete) {
          // Validators are kept only when nothing is left undelivered: a 304 must not hide items still owed.
          s.etag = outcome.etag;
          s.lastModified = outcome.lastModified;
        }
      } catch (err) {
        failure = toPollError(err);
      }
    }
    const ended = this.now();
    const latencyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    s.lastRunAt = ended;
    s.lastLatencyMs = Math.round(latencyMs);
    let next = job.schedule.next(ended, this.random);
    if (signal.aborted) {
      // Stopping (or a lost lease) is not the feed's fault: keep what was delivered, count no error, change no breaker.
      status = "aborted";
      failure = null;
      next = s.nextRunAt ?? next;
    } else if (!failure) {
      recordSuccess(s);
      s.lastSuccessAt = ended;
      s.lastStatus = status;
      s.lastError = null;
      s.lastErrorCode = null;
    } else if (failure.transient) {
      status = "transient";
      const wasOpen = s.breakerState;
      next = Math.max(next, recordTransient(s, this.policy, ended, failure.retryAfterMs, this.random));
      s.lastStatus = status;
      s.lastError = failure.message;
      s.lastErrorCode = failure.code;
      const level = s.breakerState === "open" && wasOpen !== "open" ? "warn" : "info";
      this.options.logger[level](
        { job: cfg.id, code: failure.code, class: failure.errorClass, consecutive: s.consecutiveErrors, breaker: s.breakerState },
        level === "warn" ? "poller circuit breaker open" : "poller run failed (transient; will retry)",
      );
    } else {
      status = "permanent";
      s.paused = true;
      s.pauseReason = reasonOf(failure);
      s.lastStatus = status;
      s.lastError = failure.message;
      s.lastErrorCode = failure.code;
      this.options.logger.error(
        { job: cfg.id, code: failure.code, class: failure.errorClass, err: failure.message },
        "poller job paused (permanent error); fix it, then `nexo pollers resume`",
      );
    }
    s.nextRunAt = Number.isFinite(next) ? Math.round(next) : null;
    // Without the lease the job's row may belong to another daemon's run by now: leave it alone.
    if (!lease.lost) await this.state!.saveRun(s, ended);
    job.state = s;
    this.count(job, status, failure?.errorClass);
    job.counters.lastLatencyMs = s.lastLatencyMs;
    job.counters.itemsEmitted += emitted;
    this.metrics.items.inc({ job_id: cfg.id, kind: cfg.kind }, emitted);
    if (!job.invalid) this.metrics.duration.observe({ job_id: cfg.id, kind: cfg.kind }, latencyMs / 1000);
    if (!failure && status !== "aborted") {
      job.counters.lastSuccessAt = new Date(ended).toISOString();
      this.metrics.lastSuccess.set({ job_id: cfg.id }, ended / 1000);
    }
    this.updateGauges(job);
    this.options.logger.debug({ job: cfg.id, status, emitted, itemsSeen, manual, ms: s.lastLatencyMs }, "poller run");
    return {
      id: cfg.id,
      status,
      itemsEmitted: emitted,
      itemsSeen,
      durationMs: s.lastLatencyMs,
      ...(failure ? { error: { code: failure.code, class: failure.errorClass, message: failure.message } } : {}),
      nextRunAt: s.nextRunAt === null ? null : new Date(s.nextRunAt).toISOString(),
    };
  }

  /** Deliver the items not in the ring, at most `maxPerTick`, and record the delivered ones. */
  private async deliverNew(
    job: Job,
    s: JobState,
    items: PolledItem[],
    opts: FeedJobOptions,
    signal: AbortSignal,
  ): Promise<{ emitted: number; complete: boolean; error: PollError | null }> {
    if (items.length > opts.seenCapacity && !job.warnedRingTooSmall) {
      job.warnedRingTooSmall = true;
      this.options.logger.warn(
        { job: job.cfg.id, items: items.length, seen_capacity: opts.seenCapacity },
        "feed returns more items than the seen-id ring holds: old items may be delivered again; raise seen_capacity",
      );
    }
    const seen = new Set(s.seenIds);
    const fresh: PolledItem[] = [];
    for (const item of items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id); // also drops duplicates within one response
      fresh.push(item);
    }
    const batch = fresh.slice(0, opts.maxPerTick);
    let emitted = 0;
    let error: PollError | null = null;
    for (const item of batch) {
      if (signal.aborted) break;
      try {
        await this.deliver(job, item);
        s.seenIds.push(item.id);
        s.lastItemId = item.id;
        emitted += 1;
      } catch (err) {
        error ??= new PollError(
          ErrorCodes.POLLER_DELIVERY_FAILED,
          "delivery",
          `delivering item ${JSON.stringify(item.id.slice(0, 100))} failed: ${(err as Error).message ?? String(err)}`,
          { cause: err },
        );
      }
    }
    if (s.seenIds.length > opts.seenCapacity) s.seenIds.splice(0, s.seenIds.length - opts.seenCapacity);
    return { emitted, complete: !error && !signal.aborted && fresh.length <= opts.maxPerTick, error };
  }

  private async deliver(job: Job, item: PolledItem): Promise<void> {
    const { cfg } = job;
    const event = newEvent(cfg.topic, "poller", { job_id: cfg.id, kind: cfg.kind, item_id: item.id, item: item.data }, cfg.agent ? { metadata: { agent: cfg.agent } } : {});
    await this.options.broker.publish(cfg.topic, event);
    if (cfg.agent !== undefined) {
      await this.options.deliverToAgent!(cfg.agent, { id: item.id, data: item.data, eventId: event.id }, { id: cfg.id, kind: cfg.kind, agent: cfg.agent, topic: cfg.topic });
    }
  }

  private skipped(job: Job, status: RunStatus, nextRunAt: number | null): RunResult {
    this.count(job, status);
    return {
      id: job.cfg.id,
      status,
      itemsEmitted: 0,
      itemsSeen: 0,
      durationMs: 0,
      nextRunAt: nextRunAt !== null && Number.isFinite(nextRunAt) ? new Date(nextRunAt).toISOString() : null,
    };
  }

  private count(job: Job, status: RunStatus, errorClass?: PollErrorClass): void {
    job.counters.runs += 1;
    job.counters.lastStatus = status;
    this.metrics.runs.inc({ job_id: job.cfg.id, kind: job.cfg.kind, outcome: status });
    if (errorClass) {
      job.counters.errors[errorClass] = (job.counters.errors[errorClass] ?? 0) + 1;
      this.metrics.errors.inc({ job_id: job.cfg.id, kind: job.cfg.kind, class: errorClass });
    }
  }

  private updateGauges(job: Job): void {
    this.metrics.breaker.set({ job_id: job.cfg.id }, breakerGaugeValue(job.state.breakerState));
    this.metrics.paused.set({ job_id: job.cfg.id }, job.state.paused ? 1 : 0);
  }

  private async statusOf(job: Job): Promise<JobStatus> {
    job.state = await this.state!.load(job.cfg.id);
    this.updateGauges(job);
    const leases = await this.state!.leases(this.now());
    return this.describe(job, leases.get(job.cfg.id) ?? null);
  }

  private describe(job: Job, leaseHolder: string | null): JobStatus {
    return describeJob(job.cfg, job.state, job.counters, leaseHolder);
  }
}

function reasonOf(e: PollError): string {
  return `${e.code}: ${e.message}`;
}

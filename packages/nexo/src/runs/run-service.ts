import { resolve } from "node:path";
import { uuidv7 } from "nexo-plugin-sdk/contract";
import type { Nexo, Principal, ProgressEvent } from "../app/index.js";
import { errorMessage, ON_ABORTABLE } from "../util/index.js";
import { ErrorCodes, isNexoError, NexoError } from "../errors.js";
import { createStore, type Store } from "../store/index.js";
import { requestFingerprint } from "./idempotency-key.js";
import { claimNodeId, type NodeIdClaim } from "./node-id.js";
import { RunEventLog, type RunEventListener, type RunSubscription } from "./run-events.js";
import { RunStore, runOutcomeText, type FinishedRun, type NewRun, type RunOutcomeText } from "./run-store.js";
import type { RunAccess, RunError, RunRecord, RunStatus, RunsOptions } from "./types.js";

/** Finished runs whose events stay in memory for late `GET /runs/:id/events` readers. */
const RECENT_LOGS = 256;

/** Options of `runs.start(...)`. */
export interface StartRunOptions {
  /** Surface: `http`, `cli`, `schedule`, ... Default "local". */
  channel?: string;
  /** Who asked; the run is theirs (`principalScope`). Default anonymous. */
  principal?: Principal;
  /** The run's scope key, computed by the caller from `principal`. */
  scope: string;
  sessionId?: string | null;
  headers?: Record<string, string | string[] | undefined>;
  /** With a key: a second start with the same key (and scope) finds the first run instead of starting one. */
  idempotencyKey?: string;
  /** Start at once, outside the queue and its limits (a synchronous caller holds a connection for it). Default false. */
  immediate?: boolean;
  /** Receives the run's progress events too (e.g. an SSE response of a synchronous execute). */
  onProgress?: (event: ProgressEvent) => void;
}

/** What `start` did: started a run, or found the run an idempotency key already names. */
export type StartRunOutcome = { created: true; id: string; record: RunRecord; done: Promise<RunRecord> } | { created: false; record: RunRecord; sameInputs: boolean };

interface LocalRun {
  id: string;
  workflow: string;
  inputs: Record<string, unknown>;
  options: StartRunOptions;
  events: RunEventLog;
  abort: ((reason?: unknown) => void) | undefined;
  cancelled: boolean;
  started: boolean;
  /** Inserted as running (started at once): no queued -> running write. */
  insertedRunning: boolean;
  done: Promise<RunRecord>;
  resolve: (record: RunRecord) => void;
}

/** The fields of a run's record that its start fixed. */
function runIdentity(run: LocalRun): Pick<RunRecord, "id" | "workflow" | "channel" | "scope" | "sessionId" | "idempotencyKey"> {
  return {
    id: run.id,
    workflow: run.workflow,
    channel: run.options.channel ?? "local",
    scope: run.options.scope,
    sessionId: run.options.sessionId ?? null,
    idempotencyKey: run.options.idempotencyKey ?? null,
  };
}

/**
 * Asynchronous workflow runs (`app.runs`): started at once or queued (bounded),
 * executed through `app.executeWorkflow` (middleware, hooks and any gate apply
 * as to a synchronous call), kept in the app's store with a retention, and
 * cancellable. The store is opened on first use; a daemon coming back marks
 * the runs of its previous life `interrupted`.
 */
export class RunService {
  private readonly options: Required<RunsOptions>;
  private opened: Promise<RunStore> | undefined;
  private ownedStore: Store | undefined;
  private readonly active = new Map<string, LocalRun>();
  private readonly recent = new Map<string, RunEventLog>();
  private readonly queue: LocalRun[] = [];
  /** Starts past the queue check still on their way to the store: counted as queued, so concurrent starts cannot overshoot `maxQueued`. */
  private admitting = 0;
  private eventStreams = 0;
  private streamsRefused = 0;
  private readonly tasks = new Set<Promise<void>>();
  private executing = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastSweep = 0;
  private closed = false;

  constructor(
    private readonly app: Nexo,
    private readonly storeRef: string | Store,
    /** Where this daemon's node id is kept (`claimNodeId`). */
    private readonly stateDir: string,
    options: RunsOptions = {},
  ) {
    this.options = {
      retentionSeconds: options.retentionSeconds ?? 86_400,
      maxConcurrent: options.maxConcurrent ?? 16,
      maxQueued: options.maxQueued ?? 1000,
      eventBuffer: options.eventBuffer ?? 256,
      heartbeatMs: options.heartbeatMs ?? 5000,
      maxEventStreams: options.maxEventStreams ?? 256,
    };
    checkRunsOptions(this.options);
  }

  /**
   * The run service of `app` on the app's store (`options.store`, else
   * `<stateDir>/nexo.db`): what the daemon attaches (`app.attachRuns`).
   */
  static forApp(app: Nexo, options: RunsOptions = {}): RunService {
    const stateDir = resolve(app.options.stateDir);
    return new RunService(app, app.options.store ?? `sqlite:${resolve(stateDir, "nexo.db")}`, stateDir, options);
  }

  private claim: NodeIdClaim | undefined;

  /** This daemon's id in the store, claimed on first use (`claimNodeId`). */
  get nodeId(): string {
    if (!this.claim) {
      this.claim = claimNodeId(this.stateDir);
      if (this.claim.sharedWith !== undefined) {
        this.app.logger.info({ pid: this.claim.sharedWith, nodeId: this.claim.id }, "another nexo process uses this state dir: this one keeps its runs under a node id of its own");
      }
    }
    return this.claim.id;
  }

  /**
   * Take one of the `maxEventStreams` places of the runs' event streams; call
   * the returned function when the stream ends. Each open stream may hold a
   * send buffer for a slow reader, so their number is bounded:
   * NEXO_ERR_RUN_STREAM_LIMIT (503, retry) when all are taken.
   */
  openEventStream(): () => void {
    if (this.eventStreams >= this.options.maxEventStreams) {
      this.streamsRefused += 1;
      throw new NexoError(ErrorCodes.RUN_STREAM_LIMIT, `${this.eventStreams} run event streams are already open (runs.max_event_streams); retry later`, {
        data: { retryAfterMs: 1000 },
      });
    }
    this.eventStreams += 1;
    let open = true;
    return () => {
      if (open) this.eventStreams -= 1;
      open = false;
    };
  }

  /** Event streams open now, and refused since the start. */
  get eventStreamStats(): { open: number; refused: number } {
    return { open: this.eventStreams, refused: this.streamsRefused };
  }

  /** Runs waiting for a slot, on this daemon. */
  get queued(): number {
    return this.queue.length;
  }

  /** The store, opened (and migrated, and swept of orphans) on first use. */
  private runStore(): Promise<RunStore> {
    if (this.closed) return Promise.reject(new NexoError(ErrorCodes.APP_STOPPED, "the runs service is closed"));
    this.opened ??= (async () => {
      let store: Store;
      if (typeof this.storeRef === "string") {
        store = await createStore(this.storeRef, { logger: this.app.logger });
        this.ownedStore = store;
      } else store = this.storeRef;
      const runs = new RunStore(store);
      await runs.migrate();
      const now = Date.now();
      const n = await runs.interruptOrphans(this.nodeId, now - this.staleAfterMs, now);
      if (n > 0) this.app.logger.warn({ count: n }, "runs left active by a stopped daemon marked interrupted");
      this.timer = setInterval(() => void this.tick(), this.options.heartbeatMs);
      this.timer.unref();
      return runs;
    })();
    return this.opened;
  }

  private get staleAfterMs(): number {
    return this.options.heartbeatMs * 3;
  }

  /** The app's store (opened on first use), for features that keep their rows beside the runs (schedules). */
  async store(): Promise<Store> {
    return (await this.runStore()).store;
  }

  /** True once the store answers (readiness). */
  async ready(): Promise<boolean> {
    try {
      const runs = await this.runStore();
      await runs.store.query("SELECT 1 AS one");
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Start (or queue) a run of `workflow`. Checks the workflow and its inputs
   * first (NEXO_ERR_WORKFLOW_NOT_FOUND, NEXO_ERR_WORKFLOW_INVALID_INPUT);
   * NEXO_ERR_RUN_QUEUE_FULL (503) when `maxQueued` runs already wait.
   */
  async start(workflow: string, inputs: unknown, options: StartRunOptions): Promise<StartRunOutcome> {
    if (this.app.state !== "running" && this.app.state !== "starting") {
      throw new NexoError(ErrorCodes.APP_STOPPED, `the app is ${this.app.state}; workflow "${workflow}" not run`);
    }
    this.app.checkWorkflowInputs(workflow, inputs);
    // Refuse at submission (403 now, not a failed run later); an allowed run is decided and audited once, when it executes.
    const channel = options.channel;
    if (channel !== undefined && channel !== "local" && this.app.authorization?.decide(options.principal, "workflow", workflow).allowed === false) {
      this.app.authorize(options.principal, "workflow", workflow, channel);
    }
    const checked = inputs as Record<string, unknown>;
    if (options.immediate) return this.admit(workflow, checked, options);
    // A start that would find a free slot does not wait in the queue, so it needs no queue place.
    const free = Math.max(0, this.options.maxConcurrent - this.executing);
    if (this.queue.length + this.admitting >= this.options.maxQueued + free) {
      throw new NexoError(ErrorCodes.RUN_QUEUE_FULL, `${this.queue.length + this.admitting} runs are already waiting (runs.max_queued); retry later`, {
        data: { retryAfterMs: 1000 },
      });
    }
    this.admitting += 1;
    try {
      return await this.admit(workflow, checked, options);
    } finally {
      this.admitting -= 1;
    }
  }

  private async admit(workflow: string, checked: Record<string, unknown>, options: StartRunOptions): Promise<StartRunOutcome> {
    const store = await this.runStore();
    const now = Date.now();
    const row: NewRun = {
      id: uuidv7(),
      workflow,
      channel: options.channel ?? "local",
      scope: options.scope,
      sessionId: options.sessionId ?? null,
      idempotencyKey: options.idempotencyKey ?? null,
      holder: this.nodeId,
      now,
      ...(options.immediate ? { running: true } : {}),
    };
    if (options.idempotencyKey !== undefined) {
      const fp = requestFingerprint(workflow, checked);
      const claim = await store.claimKeyAndInsert(options.scope, options.idempotencyKey, fp, row, now + this.options.retentionSeconds * 1000);
      if (claim.kind === "existing") {
        const record = await this.readFresh(store, claim.runId);
        if (!record) throw new NexoError(ErrorCodes.IDEMPOTENCY_RUN_EXPIRED, `the run of this Idempotency-Key is gone (past its retention); use a new key`);
        return { created: false, record, sameInputs: claim.sameInputs };
      }
    } else {
      await store.insert(row);
    }
    let resolve!: (r: RunRecord) => void;
    const done = new Promise<RunRecord>((r) => (resolve = r));
    const run: LocalRun = {
      id: row.id,
      workflow,
      inputs: checked,
      options,
      events: new RunEventLog(this.options.eventBuffer),
      abort: undefined,
      cancelled: false,
      started: false,
      insertedRunning: options.immediate === true,
      done,
      resolve,
    };
    this.active.set(run.id, run);
    if (options.immediate) this.execute(run, store, false);
    else {
      this.queue.push(run);
      this.pump(store);
    }
    const record: RunRecord = {
      id: row.id,
      workflow,
      channel: row.channel,
      sessionId: row.sessionId,
      idempotencyKey: row.idempotencyKey,
      holder: row.holder,
      status: options.immediate ? "running" : "queued",
      scope: row.scope,
      result: null,
      error: null,
      heartbeatAt: now,
      cancelRequested: false,
      eventsDropped: 0,
      createdAt: now,
      startedAt: options.immediate ? now : null,
      finishedAt: null,
    };
    return { created: true, id: run.id, record, done };
  }

  private pump(store: RunStore): void {
    while (this.executing < this.options.maxConcurrent && this.queue.length > 0) {
      this.execute(this.queue.shift()!, store, true);
    }
  }

  private execute(run: LocalRun, store: RunStore, counted: boolean): void {
    if (counted) this.executing += 1;
    run.started = true;
    const task = (async () => {
      let status: RunStatus;
      let result: unknown;
      let error: RunError | undefined;
      try {
        if (run.cancelled) throw cancelledError(run.workflow);
        if (!run.insertedRunning) await store.markRunning(run.id, this.nodeId, Date.now());
        const { options } = run;
        result = await this.app.executeWorkflow(run.workflow, run.inputs, {
          channel: options.channel ?? "local",
          sessionId: options.sessionId ?? null,
          ...(options.principal ? { principal: options.principal } : {}),
          ...(options.headers ? { headers: options.headers } : {}),
          workflowId: run.id,
          onProgress: options.onProgress
            ? (e) => {
                run.events.push(e);
                options.onProgress!(e);
              }
            : (e) => run.events.push(e),
          [ON_ABORTABLE]: (abort: (reason?: unknown) => void) => {
            run.abort = abort;
            if (run.cancelled) abort(cancelledError(run.workflow));
          },
        });
        status = "completed";
      } catch (err) {
        if (run.cancelled) {
          status = "cancelled";
          error = { code: ErrorCodes.RUN_CANCELLED, message: `run of workflow "${run.workflow}" was cancelled` };
        } else if (this.isShutdownError(err)) {
          status = "interrupted";
          error = { code: ErrorCodes.WORKFLOW_INTERRUPTED, message: "the daemon stopped before the run finished" };
        } else {
          status = "failed";
          error = this.toRunError(run, err);
        }
      }
      await this.settle(run, store, status, result, error);
      if (counted) {
        this.executing -= 1;
        if (!this.closed) this.pump(store);
      }
    })();
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private isShutdownError(err: unknown): boolean {
    const stopping = this.app.state === "stopping" || this.app.state === "stopped" || this.closed;
    return stopping && (isNexoError(err, ErrorCodes.APP_STOPPED) || isNexoError(err, ErrorCodes.WORKFLOW_ABORTED));
  }

  private toRunError(run: LocalRun, err: unknown): RunError {
    if (err instanceof NexoError) {
      const out: RunError = { code: err.code, message: err.message };
      const data = err.details.data as { violations?: unknown } | undefined;
      if (data && typeof data === "object" && data.violations !== undefined) out.violations = data.violations;
      return out;
    }
    // Like a synchronous 500: the message may hold internals, so the store keeps an id and the log the rest.
    const errorId = uuidv7();
    this.app.logger.error({ err, errorId, runId: run.id, workflow: run.workflow }, "run failed");
    return { code: ErrorCodes.WORKFLOW_FAILED, message: `the workflow failed; quote error id ${errorId} when reporting it`, errorId };
  }

  private async settle(run: LocalRun, store: RunStore, status: RunStatus, result: unknown, error: RunError | undefined): Promise<void> {
    const now = Date.now();
    let record: RunRecord | undefined;
    const outcome = { ...(status === "completed" ? { result: result === undefined ? null : result } : {}), ...(error ? { error } : {}), eventsDropped: run.events.dropped };
    try {
      const text = runOutcomeText(outcome);
      // Written as this daemon's: the row is what we know, so it is built here rather than read back.
      // Not written (another daemon marked it interrupted meanwhile): the store has the truth.
      const row = await store.finish(run.id, this.nodeId, status, text, now);
      record = row ? this.localRecord(run, status, text, row, now) : await store.get(run.id);
    } catch (err) {
      this.app.logger.error({ err, runId: run.id }, "the outcome of a run could not be stored");
    }
    record ??= {
      ...runIdentity(run),
      status,
      result: status === "completed" ? (result ?? null) : null,
      error: error ?? null,
      holder: this.nodeId,
      heartbeatAt: now,
      cancelRequested: false,
      eventsDropped: run.events.dropped,
      createdAt: now,
      startedAt: null,
      finishedAt: now,
    };
    this.active.delete(run.id);
    this.recent.set(run.id, run.events);
    if (this.recent.size > RECENT_LOGS) this.recent.delete(this.recent.keys().next().value!);
    run.events.end(record);
    run.resolve(record);
  }

  /** The record of a run this daemon just finished, as `store.finish` wrote it (the result and error parsed back from their JSON, like a read). */
  private localRecord(run: LocalRun, status: RunStatus, text: RunOutcomeText, row: FinishedRun, now: number): RunRecord {
    return {
      ...runIdentity(run),
      status,
      result: text.result === null ? null : JSON.parse(text.result),
      error: text.error === null ? null : (JSON.parse(text.error) as RunError),
      holder: this.nodeId,
      heartbeatAt: now,
      cancelRequested: row.cancelRequested,
      eventsDropped: text.eventsDropped,
      createdAt: row.createdAt,
      startedAt: row.startedAt,
      finishedAt: now,
    };
  }

  /** A run, if `access` may see it (another principal's run is "not found"). */
  async get(id: string, access: RunAccess): Promise<RunRecord | undefined> {
    const store = await this.runStore();
    const record = await this.readFresh(store, id);
    return record && visible(record, access) ? record : undefined;
  }

  /** Read a run; an active run whose daemon stopped heartbeating is marked interrupted first. */
  private async readFresh(store: RunStore, id: string): Promise<RunRecord | undefined> {
    const record = await store.get(id);
    if (!record || (record.status !== "queued" && record.status !== "running") || record.holder === this.nodeId) return record;
    const now = Date.now();
    if (record.heartbeatAt >= now - this.staleAfterMs) return record;
    await store.interruptOrphans("", now - this.staleAfterMs, now);
    return store.get(id);
  }

  /** Runs `access` may see, newest first. */
  async list(access: RunAccess, filter: { status?: RunStatus; workflow?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const store = await this.runStore();
    const now = Date.now();
    await store.interruptOrphans("", now - this.staleAfterMs, now);
    return store.list({
      ...(access === "operator" ? {} : { scope: access.scope }),
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.workflow ? { workflow: filter.workflow } : {}),
      limit: Math.min(Math.max(filter.limit ?? 50, 1), 1000),
    });
  }

  /**
   * Cancel a run: a queued one never starts, a running one has its `ctx.signal`
   * aborted (resolves once it ended here). A run of another daemon sharing the
   * store is flagged; its daemon cancels it at its next heartbeat (`pending: true`).
   * NEXO_ERR_RUN_NOT_FOUND, or NEXO_ERR_RUN_FINISHED (409) for a run that already ended.
   */
  async cancel(id: string, access: RunAccess): Promise<{ record: RunRecord; pending: boolean }> {
    const local = this.active.get(id);
    if (local && visible({ scope: local.options.scope }, access)) {
      this.cancelLocal(local);
      return { record: await local.done, pending: false };
    }
    const store = await this.runStore();
    const record = await this.readFresh(store, id);
    if (!record || !visible(record, access)) throw notFound(id);
    if (record.status !== "queued" && record.status !== "running") {
      throw new NexoError(ErrorCodes.RUN_FINISHED, `run ${id} already ended (${record.status})`, { data: { status: record.status } });
    }
    await store.requestCancel(id);
    return { record: { ...record, cancelRequested: true }, pending: true };
  }

  private cancelLocal(run: LocalRun): void {
    if (run.cancelled) return;
    run.cancelled = true;
    const i = this.queue.indexOf(run);
    if (i >= 0) {
      // Never started: settle it here without taking a slot.
      this.queue.splice(i, 1);
      void this.runStore().then((store) => this.execute(run, store, false));
      return;
    }
    run.abort?.(cancelledError(run.workflow));
  }

  /** The local run a caller waits on (a synchronous execute with an idempotency key), if it runs here. */
  localDone(id: string): Promise<RunRecord> | undefined {
    return this.active.get(id)?.done;
  }

  /**
   * Follow a run's progress events: buffered ones after `afterSeq`, then live
   * ones, then the end. Undefined when this daemon holds no events for it
   * (another daemon runs it, or it ended long ago): read its status instead.
   */
  subscribe(id: string, afterSeq: number, listener: RunEventListener): RunSubscription | undefined {
    const log = this.active.get(id)?.events ?? this.recent.get(id);
    return log?.subscribe(afterSeq, listener);
  }

  private async tick(): Promise<void> {
    if (this.closed || !this.opened) return;
    try {
      const store = await this.opened;
      const now = Date.now();
      if (this.active.size > 0) {
        for (const id of await store.heartbeat(this.nodeId, now)) {
          const run = this.active.get(id);
          if (run) this.cancelLocal(run);
        }
      }
      if (now - this.lastSweep >= Math.min(60_000, this.options.retentionSeconds * 1000)) {
        this.lastSweep = now;
        await store.sweep(now - this.options.retentionSeconds * 1000, now);
      }
    } catch (err) {
      if (!this.closed) this.app.logger.warn({ err: errorMessage(err) }, "runs heartbeat failed");
    }
  }

  /**
   * Stop: runs still queued end `interrupted`, running ones are waited for (the
   * app aborts them after its drain deadline), then the store this service opened is closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.opened) {
      const store = await this.opened.catch(() => undefined);
      if (store) {
        for (const run of this.queue.splice(0)) {
          await this.settle(run, store, "interrupted", undefined, { code: ErrorCodes.WORKFLOW_INTERRUPTED, message: "the daemon stopped before the run started" });
        }
      }
      await Promise.allSettled([...this.tasks]);
    }
    await this.ownedStore?.close().catch((err: unknown) => this.app.logger.warn({ err }, "closing the runs store failed"));
    this.claim?.release();
  }
}

function visible(record: { scope: string }, access: RunAccess): boolean {
  return access === "operator" || record.scope === access.scope;
}

function notFound(id: string): NexoError {
  return new NexoError(ErrorCodes.RUN_NOT_FOUND, `no run ${id}`, { data: { run: id } });
}

function cancelledError(workflow: string): NexoError {
  return new NexoError(ErrorCodes.RUN_CANCELLED, `run of workflow "${workflow}" was cancelled`);
}

function checkRunsOptions(o: Required<RunsOptions>): void {
  const int = (name: keyof RunsOptions, min: number, max: number): void => {
    const v = o[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new NexoError(ErrorCodes.CONFIG_INVALID, `runs option ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)} (${typeof v})`, {
        field: `runs.${name}`,
      });
    }
  };
  int("retentionSeconds", 1, 10 * 365 * 86_400);
  int("maxConcurrent", 1, 100_000);
  int("maxQueued", 0, 10_000_000);
  int("eventBuffer", 1, 1_000_000);
  int("heartbeatMs", 50, 3_600_000);
  int("maxEventStreams", 1, 1_000_000);
}

import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Nexo } from "../../app/index.js";
import type { WorkflowCompletedEvent, WorkflowFailedEvent, WorkflowStartedEvent } from "../../app/index.js";
import { ErrorCodes } from "../../errors.js";
import type { Logger } from "../../log/index.js";
import { createStore, redactUrl, type Row, type SqlValue, type Store } from "../../store/index.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";
import type { PluginHealth } from "../../app/index.js";
import { check } from "../option-checks.js";
import { executionMigrations } from "./schema.js";
import { errorMessage } from "../../util/index.js";

/** Options of DatabasePlugin (nexo.yaml: `in_process_plugins.database`; a URL with a password as `connection_string_env: VAR`). */
export interface DatabaseOptions {
  /**
   * `postgres://...` / `postgresql://...`, `sqlite:<file>`, or a bare file path (SQLite).
   * Default: the app's store (nexo.yaml `store:`), else `sqlite:<app stateDir>/nexo.db`.
   */
  connectionString: string | undefined;
  /** Table name. Default `workflow_executions` (the reference plugin API, docs/writing-plugins.md). */
  table: string;
  /** Writes in flight at most; beyond it new ones are dropped (each drop logged with the workflow id). Default 10000. */
  maxPendingWrites: number;
  /** How long teardown waits for writes in flight before closing, in ms. Default 5000. */
  drainTimeoutMs: number;
}

/** One row of the table, as `getExecution` / `listExecutions` return it. */
export interface WorkflowExecutionRow {
  workflow_id: string;
  workflow_name: string;
  session_id: string | null;
  channel: string | null;
  /** RFC 3339 UTC. */
  started_at: string;
  completed_at: string | null;
  /** Seconds. */
  duration: number | null;
  /** `interrupted`: the daemon died (e.g. SIGKILL) while it ran; marked when that daemon starts again. */
  status: "running" | "completed" | "failed" | "interrupted";
  error_code: string | null;
  error_message: string | null;
}

/** Counters of a DatabasePlugin. */
export interface DatabaseStats {
  written: number;
  pending: number;
  /** Writes not done, by reason; each was logged. */
  dropped: { overloaded: number; failed: number; shutdown: number };
  /** Rows left `running` by an earlier run of this daemon, marked `interrupted` at setup. */
  interrupted: number;
}

const SPECS: OptionSpecs<DatabaseOptions> = {
  connectionString: check.optional(check.string(1)),
  table: check.string(1, /^[a-z][a-z0-9_]{0,47}$/, "a lower-case SQL identifier (a letter, then letters, digits, _; at most 48)"),
  maxPendingWrites: check.int(1, 10_000_000),
  drainTimeoutMs: check.int(0, 600_000),
};

/** Log the first few failures one by one, then one line per this many. */
const FAILURE_LOG_EVERY = 1000;

/**
 * The reference plugin API's database plugin: one row per workflow execution in
 * `workflow_executions` (workflow_id, workflow_name, session_id, channel,
 * started_at, completed_at, duration, status, plus error_code and
 * error_message), created if missing. SQLite by default, PostgreSQL by URL.
 * Writes are upserts keyed by workflow_id, so the row is right whatever order
 * the started and completed writes reach the database in (a connection pool
 * gives no order). Writes never hold a workflow up; their number in flight is
 * bounded and anything not written is logged with its reason. While the latest
 * write failed, the plugin reports `degraded` in `/health`. Rows this daemon
 * (its state directory) left `running` when it died are marked `interrupted`
 * at the next start; rows of other daemons sharing the database are left alone.
 * @example
 * const db = new DatabasePlugin("postgresql://localhost/nexus");
 * app.addPlugin(db);
 */
export class DatabasePlugin extends BuiltinPlugin<DatabaseOptions> {
  private store: Store | undefined;
  private log: Logger | undefined;
  private readonly pending = new Set<Promise<void>>();
  private readonly counters = { written: 0, overloaded: 0, failed: 0, shutdown: 0, interrupted: 0 };
  private closing = false;
  /** Identifies this daemon's rows across restarts: kept in its state directory. */
  private runner = "";
  /** Set while the latest write to settle failed: what `/health` reports. */
  private lastFailure: { at: string; message: string } | undefined;

  /** `new DatabasePlugin(url)` as in the reference plugin API, `new DatabasePlugin(url, options)` or `new DatabasePlugin({ connectionString, ... })`. */
  constructor(urlOrOptions?: string | Partial<DatabaseOptions>, options?: Partial<DatabaseOptions>) {
    const given = typeof urlOrOptions === "string" ? { ...options, connectionString: urlOrOptions } : urlOrOptions;
    super("database", SPECS, { connectionString: undefined, table: "workflow_executions", maxPendingWrites: 10_000, drainTimeoutMs: 5000 }, given, ["connectionString"]);
  }

  override get description(): string {
    return "Records every workflow execution in a SQL table (SQLite or PostgreSQL)";
  }

  /** The reference plugin API's `connection_string`. */
  get connectionString(): string | undefined {
    return this.options.connectionString;
  }
  set connectionString(v: string | undefined) {
    this.setOption("connectionString", v);
  }

  /** Opens the database and creates the table if missing; the app waits for it. */
  override async setup(app: Nexo): Promise<void> {
    super.setup(app);
    const raw = this.options.connectionString ?? app.options.store ?? `sqlite:${resolve(app.options.stateDir, "nexo.db")}`;
    const url = /^(sqlite:|postgres(ql)?:\/\/)/.test(raw) ? raw : `sqlite:${resolve(raw)}`;
    this.log = app.logger.child({ plugin: this.name, database: redactUrl(url) });
    const store = await createStore(url);
    try {
      await store.migrate(`database_${this.options.table}`, executionMigrations(this.options.table));
      this.runner = runnerId(app.options.stateDir);
      await this.markInterrupted(store);
    } catch (err) {
      await store.close();
      throw err;
    }
    this.store = store;
    app.onWorkflowStarted((e) => this.write(e, "started"));
    app.onWorkflowCompleted((e) => this.write(e, "completed"));
    app.onWorkflowFailed((e) => this.write(e, "failed"));
    this.log.info({ table: this.options.table }, "recording workflow executions");
  }

  /** Waits for writes in flight (up to `drainTimeoutMs`), then closes the database. */
  override async teardown(): Promise<void> {
    this.closing = true;
    if (this.pending.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, this.options.drainTimeoutMs)))]);
      clearTimeout(timer);
      if (this.pending.size > 0) this.log?.warn({ pending: this.pending.size }, "closing the database with writes still in flight; they will fail and be logged");
    }
    await this.store?.close();
    this.store = undefined;
  }

  /** The row of one execution, or undefined. */
  async getExecution(workflowId: string): Promise<WorkflowExecutionRow | undefined> {
    const rows = await this.requireStore().query(`SELECT * FROM ${this.options.table} WHERE workflow_id = ?`, [workflowId]);
    return rows[0] && toRow(rows[0]);
  }

  /** Recent executions, newest first, optionally of one workflow. */
  async listExecutions(filter: { workflowName?: string; limit?: number } = {}): Promise<WorkflowExecutionRow[]> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), 10_000);
    const where = filter.workflowName === undefined ? "" : " WHERE workflow_name = ?";
    const params: SqlValue[] = filter.workflowName === undefined ? [] : [filter.workflowName];
    const rows = await this.requireStore().query(`SELECT * FROM ${this.options.table}${where} ORDER BY started_at DESC, workflow_id DESC LIMIT ${limit}`, params);
    return rows.map(toRow);
  }

  /** Written, pending, dropped by reason, and rows marked interrupted at setup. */
  stats(): DatabaseStats {
    const c = this.counters;
    return { written: c.written, pending: this.pending.size, dropped: { overloaded: c.overloaded, failed: c.failed, shutdown: c.shutdown }, interrupted: c.interrupted };
  }

  /** `degraded` while the latest write failed (executions are not being recorded), with its error; else ok. */
  override health(): PluginHealth {
    const c = this.counters;
    const details = { written: c.written, failedWrites: c.failed };
    if (!this.lastFailure) return { status: "ok", details };
    return { status: "degraded", message: `writes are failing (last at ${this.lastFailure.at}): ${this.lastFailure.message}`, details };
  }

  /** Rows this daemon left `running` (it was killed) can never complete: say so. */
  private async markInterrupted(store: Store): Promise<void> {
    const t = this.options.table;
    // NULL runner: rows written before runners were recorded. A wrongly marked row still ends
    // right: the completion upsert overwrites the status.
    const { changes } = await store.exec(`UPDATE ${t} SET status = 'interrupted', error_code = ?, error_message = ? WHERE status = 'running' AND (runner = ? OR runner IS NULL)`, [
      ErrorCodes.WORKFLOW_INTERRUPTED,
      "the daemon stopped (killed or crashed) before the execution finished",
      this.runner,
    ]);
    this.counters.interrupted = changes;
    if (changes > 0) this.log?.warn({ interrupted: changes }, "executions left running by the previous run marked interrupted");
  }

  /** Start one upsert in the background; the hook returns at once so a slow database never slows a workflow. */
  private write(e: WorkflowStartedEvent | WorkflowCompletedEvent | WorkflowFailedEvent, phase: "started" | "completed" | "failed"): void {
    const store = this.store;
    if (this.closing || !store) {
      this.counters.shutdown++;
      this.log?.warn({ workflowId: e.workflowId, workflow: e.workflowName, phase, reason: "shutdown" }, "execution not recorded: the plugin is shutting down");
      return;
    }
    if (this.pending.size >= this.options.maxPendingWrites) {
      this.counters.overloaded++;
      this.log?.warn(
        { workflowId: e.workflowId, workflow: e.workflowName, phase, reason: "overloaded", pending: this.pending.size, dropped: this.counters.overloaded },
        "execution not recorded: too many writes in flight",
      );
      return;
    }
    const [sql, params] = this.upsert(e, phase);
    const p: Promise<void> = store.exec(sql, params).then(
      () => {
        this.counters.written++;
        this.lastFailure = undefined;
      },
      (err: unknown) => {
        const n = ++this.counters.failed;
        this.lastFailure = { at: new Date().toISOString(), message: errorMessage(err) };
        if (n <= 10 || n % FAILURE_LOG_EVERY === 0) {
          this.log?.error({ workflowId: e.workflowId, workflow: e.workflowName, phase, reason: "failed", failed: n, err }, "execution not recorded: the write failed");
        }
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private upsert(e: WorkflowStartedEvent | WorkflowCompletedEvent | WorkflowFailedEvent, phase: "started" | "completed" | "failed"): [string, SqlValue[]] {
    const t = this.options.table;
    const base: SqlValue[] = [e.workflowId, e.workflowName, e.sessionId, e.channel, e.timestamp];
    if (phase === "started") {
      return [
        `INSERT INTO ${t} (workflow_id, workflow_name, session_id, channel, started_at, status, runner) VALUES (?, ?, ?, ?, ?, 'running', ?) ON CONFLICT (workflow_id) DO NOTHING`,
        [...base, this.runner],
      ];
    }
    const done = e as WorkflowCompletedEvent | WorkflowFailedEvent;
    const completedAt = new Date(Date.parse(e.timestamp) + Math.round(done.duration * 1000)).toISOString();
    const error = "error" in done ? done.error : null;
    return [
      `INSERT INTO ${t} (workflow_id, workflow_name, session_id, channel, started_at, completed_at, duration, status, error_code, error_message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workflow_id) DO UPDATE SET completed_at = excluded.completed_at, duration = excluded.duration,
         status = excluded.status, error_code = excluded.error_code, error_message = excluded.error_message`,
      [...base, completedAt, done.duration, phase, error?.code ?? null, error ? error.message.slice(0, 4000) : null],
    ];
  }

  private requireStore(): Store {
    if (!this.store) throw new Error("DatabasePlugin is not set up (add it to an app first) or was torn down");
    return this.store;
  }
}

function toRow(r: Row): WorkflowExecutionRow {
  const iso = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
  return {
    workflow_id: String(r.workflow_id),
    workflow_name: String(r.workflow_name),
    session_id: (r.session_id as string | null) ?? null,
    channel: (r.channel as string | null) ?? null,
    started_at: iso(r.started_at)!,
    completed_at: iso(r.completed_at),
    duration: r.duration === null || r.duration === undefined ? null : Number(r.duration),
    status: r.status as WorkflowExecutionRow["status"],
    error_code: (r.error_code as string | null) ?? null,
    error_message: (r.error_message as string | null) ?? null,
  };
}

/** This daemon's runner id: created once in its state directory, the same after every restart. */
function runnerId(stateDir: string): string {
  const file = resolve(stateDir, "runner-id");
  try {
    const id = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch {
    // first start: create it below
  }
  const id = randomUUID();
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

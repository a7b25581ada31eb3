import type { Migration, Queryable, Row, Store } from "../store/index.js";
import { ErrorCodes } from "../errors.js";
import type { RunError, RunRecord, RunStatus } from "./types.js";

/** The runs feature's schema: runs and idempotency keys (`Store.migrate("runs", ...)`). */
export const RUN_MIGRATIONS: readonly Migration[] = [
  {
    name: "001_runs_and_idempotency",
    sql: `
CREATE TABLE nexo_runs (
  id TEXT PRIMARY KEY,
  workflow TEXT NOT NULL,
  status TEXT NOT NULL,
  channel TEXT NOT NULL,
  scope TEXT NOT NULL,
  session_id TEXT,
  idempotency_key TEXT,
  result TEXT,
  error TEXT,
  holder TEXT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  events_dropped INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX nexo_runs_status ON nexo_runs (status, holder);
CREATE INDEX nexo_runs_finished ON nexo_runs (finished_at);
CREATE TABLE nexo_idempotency_keys (
  scope TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  run_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (scope, idem_key)
);
CREATE INDEX nexo_idempotency_expiry ON nexo_idempotency_keys (expires_at);`,
  },
];

/** Statuses of a run that has not ended. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ["queued", "running"];

const COLUMNS =
  "id, workflow, status, channel, scope, session_id, idempotency_key, result, error, holder, heartbeat_at, cancel_requested, events_dropped, created_at, started_at, finished_at";

/** A new run row. */
export interface NewRun {
  id: string;
  workflow: string;
  channel: string;
  scope: string;
  sessionId: string | null;
  idempotencyKey: string | null;
  holder: string;
  now: number;
  /** Inserted as already running (started at `now`): a run started at once skips the queued -> running write. */
  running?: boolean;
}

/** How a run ended, as stored: its result and error as JSON text. */
export interface RunOutcomeText {
  result: string | null;
  error: string | null;
  eventsDropped: number;
}

/** The stored form of an outcome (throws when the result is not JSON-serializable, e.g. a bigint or a cycle). */
export function runOutcomeText(outcome: { result?: unknown; error?: RunError; eventsDropped: number }): RunOutcomeText {
  return {
    result: outcome.result === undefined ? null : JSON.stringify(outcome.result),
    error: outcome.error ? JSON.stringify(outcome.error) : null,
    eventsDropped: outcome.eventsDropped,
  };
}

/** The columns of a finished run that its holder did not set itself. */
export interface FinishedRun {
  createdAt: number;
  startedAt: number;
  cancelRequested: boolean;
}

/** What `claimKey` found: the key was free (now ours), or held by a run for the same or other inputs. */
export type KeyClaim = { kind: "claimed" } | { kind: "existing"; runId: string; sameInputs: boolean };

/** Runs and idempotency keys on a `Store`; every write is conditional, so daemons sharing it never undo each other. */
export class RunStore {
  constructor(readonly store: Store) {}

  async migrate(): Promise<void> {
    await this.store.migrate("runs", RUN_MIGRATIONS);
  }

  async insert(run: NewRun, q: Queryable = this.store): Promise<void> {
    await q.exec(
      `INSERT INTO nexo_runs (id, workflow, status, channel, scope, session_id, idempotency_key, holder, heartbeat_at, created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        run.id,
        run.workflow,
        run.running ? "running" : "queued",
        run.channel,
        run.scope,
        run.sessionId,
        run.idempotencyKey,
        run.holder,
        run.now,
        run.now,
        run.running ? run.now : null,
      ],
    );
  }

  /**
   * Take idempotency key (`scope`, `key`) for `runId`, inserting the run in the
   * same transaction, unless an unexpired holder exists: then say which run holds it.
   */
  async claimKeyAndInsert(scope: string, key: string, fingerprint: string, run: NewRun, expiresAt: number): Promise<KeyClaim> {
    return this.store.transaction(async (tx) => {
      // One statement takes a free key or one whose holder expired; a live holder leaves it unchanged (no row changed).
      const ins = await tx.exec(
        `INSERT INTO nexo_idempotency_keys (scope, idem_key, fingerprint, run_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (scope, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, run_id = excluded.run_id, created_at = excluded.created_at, expires_at = excluded.expires_at
         WHERE nexo_idempotency_keys.expires_at <= ?`,
        [scope, key, fingerprint, run.id, run.now, expiresAt, run.now],
      );
      if (ins.changes === 1) {
        await this.insert(run, tx);
        return { kind: "claimed" };
      }
      const rows = await tx.query(`SELECT fingerprint, run_id FROM nexo_idempotency_keys WHERE scope = ? AND idem_key = ?`, [scope, key]);
      const row = rows[0]!;
      return { kind: "existing", runId: String(row.run_id), sameInputs: row.fingerprint === fingerprint };
    });
  }

  /** queued -> running; false when the run is no longer queued here (cancelled meanwhile). */
  async markRunning(id: string, holder: string, now: number): Promise<boolean> {
    const r = await this.store.exec(`UPDATE nexo_runs SET status = 'running', started_at = ?, heartbeat_at = ? WHERE id = ? AND holder = ? AND status = 'queued'`, [
      now,
      now,
      id,
      holder,
    ]);
    return r.changes === 1;
  }

  /**
   * Record how an active run of `holder` ended. Returns what the row holds
   * besides what the caller wrote (so it need not read the run back), or
   * undefined when the run was not active here (it already ended, or another
   * daemon marked it interrupted).
   */
  async finish(id: string, holder: string, status: RunStatus, outcome: RunOutcomeText, now: number): Promise<FinishedRun | undefined> {
    const rows = await this.store.query(
      `UPDATE nexo_runs SET status = ?, result = ?, error = ?, events_dropped = ?, finished_at = ?, heartbeat_at = ?, started_at = COALESCE(started_at, ?)
       WHERE id = ? AND holder = ? AND status IN ('queued', 'running') RETURNING created_at, started_at, cancel_requested`,
      [status, outcome.result, outcome.error, outcome.eventsDropped, now, now, now, id, holder],
    );
    const r = rows[0];
    return r === undefined ? undefined : { createdAt: Number(r.created_at), startedAt: Number(r.started_at), cancelRequested: Number(r.cancel_requested) === 1 };
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const rows = await this.store.query(`SELECT ${COLUMNS} FROM nexo_runs WHERE id = ?`, [id]);
    return rows.length ? fromRow(rows[0]!) : undefined;
  }

  /** Newest first. */
  async list(filter: { scope?: string; status?: RunStatus; workflow?: string; limit: number }): Promise<RunRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const eq = (column: string, value: string | undefined): void => {
      if (value === undefined) return;
      where.push(`${column} = ?`);
      params.push(value);
    };
    eq("scope", filter.scope);
    eq("status", filter.status);
    eq("workflow", filter.workflow);
    params.push(filter.limit);
    const rows = await this.store.query(`SELECT ${COLUMNS} FROM nexo_runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?`, params);
    return rows.map(fromRow);
  }

  /** Ask the holder of an active run (another daemon) to cancel it; it sees the flag at its next heartbeat. */
  async requestCancel(id: string): Promise<boolean> {
    const r = await this.store.exec(`UPDATE nexo_runs SET cancel_requested = 1 WHERE id = ? AND status IN ('queued', 'running')`, [id]);
    return r.changes === 1;
  }

  /** Renew the heartbeat of `holder`'s active runs; returns those whose cancellation another daemon asked for. */
  async heartbeat(holder: string, now: number): Promise<string[]> {
    await this.store.exec(`UPDATE nexo_runs SET heartbeat_at = ? WHERE holder = ? AND status IN ('queued', 'running')`, [now, holder]);
    const rows = await this.store.query(`SELECT id FROM nexo_runs WHERE holder = ? AND cancel_requested = 1 AND status IN ('queued', 'running')`, [holder]);
    return rows.map((r) => String(r.id));
  }

  /**
   * Mark `interrupted` the active runs of `holder` (this daemon's previous life)
   * and of any holder silent since `staleBefore` (a daemon that died).
   */
  async interruptOrphans(holder: string, staleBefore: number, now: number): Promise<number> {
    const error = JSON.stringify({ code: ErrorCodes.WORKFLOW_INTERRUPTED, message: "the daemon running this workflow stopped before it finished" } satisfies RunError);
    const r = await this.store.exec(
      `UPDATE nexo_runs SET status = 'interrupted', error = ?, finished_at = ? WHERE status IN ('queued', 'running') AND (holder = ? OR heartbeat_at < ?)`,
      [error, now, holder, staleBefore],
    );
    return r.changes;
  }

  /** Forget finished runs and idempotency keys older than the retention. */
  async sweep(finishedBefore: number, now: number): Promise<void> {
    await this.store.exec(`DELETE FROM nexo_runs WHERE finished_at IS NOT NULL AND finished_at < ?`, [finishedBefore]);
    await this.store.exec(`DELETE FROM nexo_idempotency_keys WHERE expires_at <= ?`, [now]);
  }
}

function parseJson(v: unknown): unknown {
  return typeof v === "string" ? JSON.parse(v) : undefined;
}

function fromRow(r: Row): RunRecord {
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(r.id),
    workflow: String(r.workflow),
    status: String(r.status) as RunStatus,
    channel: String(r.channel),
    scope: String(r.scope),
    sessionId: r.session_id === null ? null : String(r.session_id),
    idempotencyKey: r.idempotency_key === null ? null : String(r.idempotency_key),
    result: r.result === null ? null : parseJson(r.result),
    error: r.error === null ? null : (parseJson(r.error) as RunError),
    holder: String(r.holder),
    heartbeatAt: Number(r.heartbeat_at),
    cancelRequested: Number(r.cancel_requested) === 1,
    eventsDropped: Number(r.events_dropped),
    createdAt: Number(r.created_at),
    startedAt: num(r.started_at),
    finishedAt: num(r.finished_at),
  };
}

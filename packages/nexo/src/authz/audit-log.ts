import type { Logger } from "../log/index.js";
import { createStore, type Row, type SqlValue, type Store } from "../store/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { AUDIT_MIGRATIONS } from "./migrations.js";
import type { ActionKind, AuditEntry, AuditQuery } from "./types.js";

/** A decision to record, with its time in epoch milliseconds. */
export type PendingAuditEntry = Omit<AuditEntry, "id" | "at"> & { at: number };

/**
 * Everything a decision records but its time: who, through which surface, did
 * what, allowed or not, by which rule. Made by `AuditLog.subject` and shared by
 * every decision with the same fields, so recording one allocates nothing.
 */
export interface AuditSubject {
  readonly principal: string;
  readonly strategy: string | null;
  readonly tenant: string | null;
  readonly surface: string;
  readonly kind: ActionKind;
  readonly name: string;
  readonly allowed: boolean;
  readonly rule: string;
}

export interface AuditLogOptions {
  /** Entries older than this many days are deleted (checked hourly). */
  retentionDays: number;
  /** Most entries waiting for a write; past it new ones are dropped, counted and logged. Default 10000. */
  maxPending?: number;
  /** How long an entry may wait before its batch is written, in ms. Default 250. */
  flushMs?: number;
}

const BATCH = 1000;
const COLUMNS = ["at", "principal", "strategy", "tenant", "surface", "kind", "name", "allowed", "rule"] as const;
/** A subject's columns: everything a decision records but its time. */
const SUBJECT_COLUMNS = COLUMNS.slice(1);
/** Several daemons may insert the same subject at once: the second insert does nothing, and both read its id back. */
const INSERT_SUBJECT_SQL = `INSERT INTO nexo_audit_subjects (${SUBJECT_COLUMNS.join(", ")}) VALUES (${SUBJECT_COLUMNS.map(() => "?").join(", ")}) ON CONFLICT DO NOTHING`;
const SUBJECT_ID_SQL = `SELECT id FROM nexo_audit_subjects WHERE ${SUBJECT_COLUMNS.map((c) => `${c} = ?`).join(" AND ")}`;
/** The insert of a full batch, built once: its text is also the prepared statement's cache key. */
const FULL_BATCH_SQL = insertSql(BATCH);
/** Entries deleted per statement when pruning. */
const PRUNE_SLICE = 10_000;
/** Distinct subjects kept for reuse; past this the table starts over (subjects held by queued decisions stay valid). */
const MAX_SUBJECTS = 10_000;

function insertSql(rows: number): string {
  return `INSERT INTO nexo_audit_decisions (at, subject) VALUES ${Array.from({ length: rows }, () => "(?, ?)").join(", ")}`;
}

function toEntry(r: Row): AuditEntry {
  return {
    id: Number(r.id),
    at: new Date(Number(r.at)).toISOString(),
    principal: String(r.principal),
    strategy: r.strategy === null ? null : String(r.strategy),
    tenant: r.tenant === null ? null : String(r.tenant),
    surface: String(r.surface),
    kind: String(r.kind) as ActionKind,
    name: String(r.name),
    allowed: Number(r.allowed) === 1,
    rule: String(r.rule),
  };
}

/** A subject and, once known, its row id in the store this log writes to. */
type Subject = AuditSubject & { storeId?: number };

/**
 * The authorization audit trail on the daemon's store: one row per decision,
 * its time and a reference to its subject, each distinct subject stored once
 * (docs/authorization.md, "The audit trail"). Decisions are queued in memory
 * and written in batches off the request path, so the gate costs two array
 * pushes per call; a full queue (the store down or too slow) drops entries,
 * counted in `dropped` and logged at most once a minute, never silently.
 */
export class AuditLog {
  /** The queue, as two columns: decision times and their subjects. */
  private readonly pendingAt: number[] = [];
  private readonly pendingSubject: Subject[] = [];
  private readonly subjects = new Map<string, Subject>();
  private readonly maxPending: number;
  private readonly flushMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private opened: Promise<Store> | undefined;
  private ownedStore: Store | undefined;
  private closed = false;
  private lastDropLog = 0;
  /** Entries dropped because the queue was full or a write failed. */
  dropped = 0;
  /** Entries written. */
  written = 0;

  constructor(
    private readonly store: string | Store,
    private readonly logger: Logger,
    private readonly options: AuditLogOptions,
  ) {
    this.maxPending = options.maxPending ?? 10_000;
    this.flushMs = options.flushMs ?? 250;
  }

  private db(): Promise<Store> {
    this.opened ??= (async () => {
      let store: Store;
      if (typeof this.store === "string") {
        store = await createStore(this.store, { logger: this.logger });
        this.ownedStore = store;
      } else store = this.store;
      await store.migrate("audit", AUDIT_MIGRATIONS);
      // The first pruning happens before any write, so it never races entries written now.
      await this.deleteExpired(store).catch((err: unknown) => this.logger.warn({ err }, "pruning the audit trail failed"));
      this.schedulePrune();
      return store;
    })();
    this.opened.catch(() => (this.opened = undefined));
    return this.opened;
  }

  /** The shared subject with these fields (callers keep it to record many decisions). */
  subject(fields: AuditSubject): AuditSubject {
    // JSON of the fields in a fixed order: one text per subject, whatever characters the names hold.
    const key = JSON.stringify([fields.principal, fields.strategy, fields.tenant, fields.surface, fields.kind, fields.name, fields.allowed, fields.rule]);
    let s = this.subjects.get(key);
    if (s === undefined) {
      if (this.subjects.size >= MAX_SUBJECTS) this.subjects.clear();
      s = {
        principal: fields.principal,
        strategy: fields.strategy,
        tenant: fields.tenant,
        surface: fields.surface,
        kind: fields.kind,
        name: fields.name,
        allowed: fields.allowed,
        rule: fields.rule,
      };
      this.subjects.set(key, s);
    }
    return s;
  }

  /** Queue one decision of `subject` (from `subject()`) made at `at` (epoch ms). */
  recordSubject(subject: AuditSubject, at: number): void {
    if (this.closed) return;
    if (this.pendingAt.length >= this.maxPending) {
      this.drop(1, "the audit queue is full (the store is down or slower than the decisions)");
      return;
    }
    this.pendingAt.push(at);
    this.pendingSubject.push(subject);
    if (this.pendingAt.length >= BATCH) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.flushMs).unref();
  }

  /** Queue one decision for writing. */
  record(entry: PendingAuditEntry): void {
    this.recordSubject(this.subject(entry), entry.at);
  }

  private drop(n: number, reason: string): void {
    this.dropped += n;
    const now = Date.now();
    if (now - this.lastDropLog >= 60_000) {
      this.lastDropLog = now;
      this.logger.warn({ dropped: this.dropped, reason }, `audit entries dropped: ${reason}`);
    }
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.writing ??= this.writeAll().finally(() => {
      this.writing = undefined;
      if (this.pendingAt.length > 0 && !this.closed) this.timer ??= setTimeout(() => this.kick(), this.flushMs).unref();
    });
  }

  private async writeAll(): Promise<void> {
    while (this.pendingAt.length > 0) {
      const n = Math.min(BATCH, this.pendingAt.length);
      const ats = this.pendingAt.splice(0, n);
      const subjects = this.pendingSubject.splice(0, n);
      try {
        const db = await this.db();
        const params: SqlValue[] = new Array<SqlValue>(2 * n);
        for (let i = 0; i < n; i++) {
          const s = subjects[i]!;
          params[2 * i] = ats[i]!;
          params[2 * i + 1] = s.storeId ?? (await this.storeIdOf(db, s));
        }
        await db.exec(n === BATCH ? FULL_BATCH_SQL : insertSql(n), params);
        this.written += n;
      } catch (err) {
        this.drop(n, `writing to the store failed: ${(err as Error).message}`);
        return;
      }
    }
  }

  /** The subject's row id, inserted when it is new (several daemons may insert the same one at once). */
  private async storeIdOf(db: Store, s: Subject): Promise<number> {
    const values: SqlValue[] = [s.principal, s.strategy ?? "", s.tenant ?? "", s.surface, s.kind, s.name, s.allowed ? 1 : 0, s.rule];
    await db.exec(INSERT_SUBJECT_SQL, values);
    const rows = await db.query(SUBJECT_ID_SQL, values);
    if (rows.length !== 1) throw new Error(`audit subject ${JSON.stringify(values)} not found after its insert`);
    return (s.storeId = Number(rows[0]!.id));
  }

  /** Write what is queued now (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pendingAt.length > 0 || this.writing) {
      this.kick();
      await this.writing;
    }
  }

  /** Entries matching `q`, newest first. */
  async query(q: AuditQuery = {}): Promise<AuditEntry[]> {
    await this.flush();
    const where: string[] = [];
    const params: SqlValue[] = [];
    const eq = (col: string, v: SqlValue | undefined): void => {
      if (v === undefined) return;
      where.push(`${col} = ?`);
      params.push(v);
    };
    eq("principal", q.principal);
    eq("tenant", q.tenant);
    eq("kind", q.kind);
    eq("name", q.name);
    eq("allowed", q.allowed === undefined ? undefined : q.allowed ? 1 : 0);
    if (q.since !== undefined) {
      const ms = typeof q.since === "number" ? q.since : Date.parse(q.since);
      if (!Number.isFinite(ms))
        throw new NexoError(ErrorCodes.HTTP_BAD_REQUEST, `audit query: since must be an ISO time or epoch milliseconds, got ${JSON.stringify(q.since)}`, { field: "since" });
      where.push("at >= ?");
      params.push(ms);
    }
    if (q.before !== undefined) {
      where.push("id < ?");
      params.push(q.before);
    }
    const limit = Math.min(Math.max(1, Math.trunc(q.limit ?? 100)), 1000);
    const db = await this.db();
    const rows = await db.query(`SELECT id, ${COLUMNS.join(", ")} FROM nexo_audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${limit}`, params);
    return rows.map(toEntry);
  }

  /** Delete entries past the retention; returns how many. */
  async prune(now = Date.now()): Promise<number> {
    return this.deleteExpired(await this.db(), now);
  }

  /**
   * Delete the expired entries, oldest first, in slices of ids so a large backlog never blocks
   * the daemon for long: every id below the first entry that has not expired, and only those
   * entries whose time has passed too, because ids from a shared store's sequence are not given
   * in commit order (another daemon's entry may become visible below it later). An entry
   * written out of time order (the clock set back) waits for a later pruning.
   */
  private async deleteExpired(db: Store, now = Date.now()): Promise<number> {
    const cutoff = now - this.options.retentionDays * 86_400_000;
    const first = await db.query("SELECT id FROM nexo_audit_decisions WHERE at >= ? ORDER BY id LIMIT 1", [cutoff]);
    const bounds = await db.query("SELECT MIN(id) AS low, MAX(id) AS high FROM nexo_audit_decisions");
    if (bounds[0]?.low === null || bounds[0]?.low === undefined) return 0;
    const keepFrom = first.length > 0 ? Number(first[0]!.id) : Number(bounds[0].high) + 1;
    let deleted = 0;
    for (let low = Number(bounds[0].low); low < keepFrom; low += PRUNE_SLICE) {
      const r = await db.exec("DELETE FROM nexo_audit_decisions WHERE id >= ? AND id < ? AND at < ?", [low, Math.min(keepFrom, low + PRUNE_SLICE), cutoff]);
      deleted += r.changes;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return deleted;
  }

  private schedulePrune(): void {
    if (this.pruneTimer || this.closed) return;
    const run = (): void => {
      this.prune().catch((err: unknown) => this.logger.warn({ err }, "pruning the audit trail failed"));
    };
    this.pruneTimer = setInterval(run, 3_600_000).unref();
  }

  /** Write what is queued, then close the store this log opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    const opened = this.opened;
    this.opened = undefined;
    if (opened) await opened.catch(() => undefined);
    await this.ownedStore?.close();
    this.ownedStore = undefined;
  }
}

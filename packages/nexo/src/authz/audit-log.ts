import type { Logger } from "../log/index.js";
import { createStore, type Row, type SqlValue, type Store } from "../store/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { AUDIT_MIGRATIONS } from "./migrations.js";
import type { ActionKind, AuditEntry, AuditQuery } from "./types.js";

/** A decision waiting to be written. */
export type PendingAuditEntry = Omit<AuditEntry, "id" | "at"> & { at: number };

export interface AuditLogOptions {
  /** Entries older than this many days are deleted (checked hourly). */
  retentionDays: number;
  /** Most entries waiting for a write; past it new ones are dropped, counted and logged. Default 10000. */
  maxPending?: number;
  /** How long an entry may wait before its batch is written, in ms. Default 250. */
  flushMs?: number;
}

const BATCH = 200;
const COLUMNS = ["at", "principal", "strategy", "tenant", "surface", "kind", "name", "allowed", "rule"] as const;
const ROW_SQL = `(${COLUMNS.map(() => "?").join(", ")})`;

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

/**
 * The authorization audit trail on the daemon's store. Decisions are queued
 * in memory and written in batches off the request path, so the gate costs a
 * push per call; a full queue (the store down or too slow) drops entries,
 * counted in `dropped` and logged at most once a minute, never silently.
 */
export class AuditLog {
  private readonly pending: PendingAuditEntry[] = [];
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

  /** Queue one decision for writing. */
  record(entry: PendingAuditEntry): void {
    if (this.closed) return;
    if (this.pending.length >= this.maxPending) {
      this.drop(1, "the audit queue is full (the store is down or slower than the decisions)");
      return;
    }
    this.pending.push(entry);
    if (this.pending.length >= BATCH) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.flushMs).unref();
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
      if (this.pending.length > 0 && !this.closed) this.timer ??= setTimeout(() => this.kick(), this.flushMs).unref();
    });
  }

  private async writeAll(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH);
      try {
        const db = await this.db();
        const params: SqlValue[] = [];
        for (const e of batch) params.push(e.at, e.principal, e.strategy, e.tenant, e.surface, e.kind, e.name, e.allowed ? 1 : 0, e.rule);
        await db.exec(`INSERT INTO nexo_audit (${COLUMNS.join(", ")}) VALUES ${batch.map(() => ROW_SQL).join(", ")}`, params);
        this.written += batch.length;
      } catch (err) {
        this.drop(batch.length, `writing to the store failed: ${(err as Error).message}`);
        return;
      }
    }
  }

  /** Write what is queued now (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.writing) {
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

  private async deleteExpired(db: Store, now = Date.now()): Promise<number> {
    const r = await db.exec("DELETE FROM nexo_audit WHERE at < ?", [now - this.options.retentionDays * 86_400_000]);
    return r.changes;
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

/** Where a run is: `queued` and `running` are active; the others are final. */
export type RunStatus = "queued" | "running" | "completed" | "failed" | "cancelled" | "interrupted";

/** Why a run did not complete: a stable code and a message (internal errors carry only an error id). */
export interface RunError {
  code: string;
  message: string;
  errorId?: string;
  violations?: unknown;
}

/** A run as the store keeps it. Times are ms since the epoch. */
export interface RunRecord {
  id: string;
  workflow: string;
  status: RunStatus;
  /** Surface that started it: `http`, `cli`, `schedule`, `local`, ... */
  channel: string;
  /** Whose run it is (see `principalScope`); only that principal (and the operator) sees it. */
  scope: string;
  sessionId: string | null;
  idempotencyKey: string | null;
  /** The workflow's result once `completed` (null otherwise). */
  result: unknown;
  error: RunError | null;
  /** Node id of the daemon that runs it. */
  holder: string;
  heartbeatAt: number;
  /** Another daemon asked the holder to cancel it. */
  cancelRequested: boolean;
  /** Progress events a full buffer dropped. */
  eventsDropped: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** The public view of a run (`GET /runs/:id`, `nexo runs show`). */
export interface RunView {
  id: string;
  workflow: string;
  status: RunStatus;
  channel: string;
  sessionId: string | null;
  result?: unknown;
  error?: RunError;
  eventsDropped: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Seconds from start to end (or to now while running); null while queued. */
  durationSeconds: number | null;
}

/** Options of the runs service (nexo.yaml `runs:`); every field has a default. */
export interface RunsOptions {
  /** How long finished runs and idempotency keys are kept, in seconds. Default 86400 (one day). */
  retentionSeconds?: number;
  /** Runs executing at once; more wait queued. Default 16. */
  maxConcurrent?: number;
  /** Runs waiting beyond `maxConcurrent`; more are refused with NEXO_ERR_RUN_QUEUE_FULL (503). Default 1000. */
  maxQueued?: number;
  /** Progress events kept per run for late subscribers; the oldest is dropped (and counted) when full. Default 256. */
  eventBuffer?: number;
  /** `GET /runs/:id/events` streams open at once; more are refused with NEXO_ERR_RUN_STREAM_LIMIT (503). Default 256. */
  maxEventStreams?: number;
  /** How often a daemon renews its active runs and looks for cancellations asked elsewhere, in ms. Default 5000. */
  heartbeatMs?: number;
}

/** Whose calls a lookup may see: one principal's scope, or every run (the operator on the control socket). */
export type RunAccess = { scope: string } | "operator";

/** Convert a record to its public view. */
export function toRunView(r: RunRecord, now = Date.now()): RunView {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  const view: RunView = {
    id: r.id,
    workflow: r.workflow,
    status: r.status,
    channel: r.channel,
    sessionId: r.sessionId,
    eventsDropped: r.eventsDropped,
    createdAt: new Date(r.createdAt).toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    durationSeconds: r.startedAt === null ? null : ((r.finishedAt ?? now) - r.startedAt) / 1000,
  };
  if (r.status === "completed") view.result = r.result;
  if (r.error) view.error = r.error;
  return view;
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Nexo, ProgressEvent } from "../../app/index.js";
import { ON_ABORTABLE } from "../../util/index.js";
import { ErrorCodes, errorWire, NexoError, type ErrorCode } from "../../errors.js";
import { IDEMPOTENCY_HEADER, parseIdempotencyKey, principalScope, toRunView, type RunRecord, type RunStatus } from "../../runs/index.js";
import { sendError } from "./error-reply.js";
import { SESSION_HEADER } from "./session-header.js";
import { openSse, wantsEventStream, type SseStream } from "./sse.js";

/** Set on a response replayed from the first request with the same Idempotency-Key. */
export const REPLAYED_HEADER = "idempotent-replayed";
/** The run behind a synchronous execute that carried an Idempotency-Key. */
export const RUN_ID_HEADER = "x-nexo-run-id";

type NameRequest = FastifyRequest<{ Params: { name: string } }>;
type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const RUN_STATUSES = new Set<RunStatus>(["queued", "running", "completed", "failed", "cancelled", "interrupted"]);

function sessionOf(request: FastifyRequest): string | null {
  const s = request.headers[SESSION_HEADER];
  return typeof s === "string" && s.length > 0 && s.length <= 256 ? s : null;
}

/** The caller's runs and idempotency keys: per principal, and per tenant when `authorization.tenant_claim` is set. */
function scopeOf(app: Nexo, request: FastifyRequest): string {
  return principalScope(request.principal, app.authorization?.tenantOf(request.principal ?? undefined) ?? null);
}

function callerOf(app: Nexo, request: FastifyRequest): { principal?: NonNullable<FastifyRequest["principal"]>; scope: string } {
  return { ...(request.principal ? { principal: request.principal } : {}), scope: scopeOf(app, request) };
}

/**
 * `POST /workflows/:name/execute` with `Idempotency-Key` and/or
 * `Accept: text/event-stream` (the plain route stays on its own fast path).
 */
export async function executeWithExtras(app: Nexo, request: NameRequest, reply: FastifyReply): Promise<FastifyReply | void> {
  const keyHeader = request.headers[IDEMPOTENCY_HEADER];
  const stream = wantsEventStream(request.headers.accept);
  if (keyHeader === undefined) return executeStreaming(app, request, reply);
  const key = parseIdempotencyKey(keyHeader);
  const out = await app.runs.start(request.params.name, request.body ?? {}, {
    channel: "http",
    ...callerOf(app, request),
    sessionId: sessionOf(request),
    headers: request.headers,
    idempotencyKey: key,
    immediate: true,
  });
  let record: RunRecord;
  if (!out.created) {
    if (!out.sameInputs) throw mismatch();
    if (out.record.status === "queued" || out.record.status === "running") {
      throw new NexoError(ErrorCodes.IDEMPOTENCY_IN_PROGRESS, `a request with this Idempotency-Key is still running (run ${out.record.id}); retry later`, {
        data: { retryAfterMs: 1000 },
      });
    }
    reply.header(REPLAYED_HEADER, "true");
    record = out.record;
  } else {
    reply.header(RUN_ID_HEADER, out.id);
    if (stream) {
      const sse = openSse(reply);
      // The run's own event log replays what it reported before this subscription.
      const sub = app.runs.subscribe(out.id, 0, { onEvent: (e) => void sse.send(e.kind, e.value, e.seq), onEnd: () => undefined });
      for (const e of sub?.replay ?? []) sse.send(e.kind, e.value, e.seq);
      record = await out.done;
      sub?.unsubscribe();
      sendOutcome(sse, record);
      sse.end();
      return;
    }
    // No abort on disconnect: a client retrying with the same key gets this run's outcome.
    record = await out.done;
  }
  reply.header(RUN_ID_HEADER, record.id);
  if (stream) {
    const sse = openSse(reply);
    sendOutcome(sse, record);
    sse.end();
    return;
  }
  return sendRunOutcome(record, request, reply);
}

/** Execute with the progress events streamed as SSE, then a `result` or `error` event. Disconnecting aborts the workflow. */
async function executeStreaming(app: Nexo, request: NameRequest, reply: FastifyReply): Promise<void> {
  // Checked before the stream opens, so a bad call or a refused principal is still a plain 4xx.
  app.checkWorkflowInputs(request.params.name, request.body ?? {});
  // As for a run: a refusal is audited here; an allowed call is decided and audited once, when it executes.
  if (app.authorization?.decide(request.principal ?? undefined, "workflow", request.params.name).allowed === false) {
    app.authorize(request.principal ?? undefined, "workflow", request.params.name, "http");
  }
  const sse = openSse(reply);
  let abort: ((reason?: unknown) => void) | undefined;
  sse.onClose(() => abort?.(new NexoError(ErrorCodes.WORKFLOW_ABORTED, "the HTTP client disconnected")));
  try {
    const result = await app.executeWorkflow(request.params.name, request.body ?? {}, {
      channel: "http",
      sessionId: sessionOf(request),
      ...(request.principal ? { principal: request.principal } : {}),
      headers: request.headers,
      [ON_ABORTABLE]: (fn) => (abort = fn),
      onProgress: (e: ProgressEvent) => void sse.send(e.kind, e.value, e.seq),
    });
    sse.send("result", { result: result === undefined ? null : result, eventsDropped: sse.dropped }, undefined, true);
  } catch (err) {
    const e = err instanceof NexoError ? { code: err.code, message: err.message, ...violationsOf(err) } : { code: ErrorCodes.WORKFLOW_FAILED, message: "the workflow failed" };
    if (!(err instanceof NexoError)) request.log.error({ err, workflow: request.params.name }, "streamed workflow failed");
    sse.send("error", { error: e, eventsDropped: sse.dropped }, undefined, true);
  }
  sse.end();
}

function violationsOf(err: NexoError): { violations?: unknown } {
  const data = err.details.data as { violations?: unknown } | undefined;
  return data && typeof data === "object" && data.violations !== undefined ? { violations: data.violations } : {};
}

function sendOutcome(sse: SseStream, record: RunRecord): void {
  if (record.status === "completed") sse.send("result", { result: record.result, eventsDropped: record.eventsDropped + sse.dropped }, undefined, true);
  else sse.send("error", { error: record.error, eventsDropped: record.eventsDropped + sse.dropped }, undefined, true);
}

/** A finished run answered as the synchronous execute would have: its result, or its error with that error's status. */
function sendRunOutcome(record: RunRecord, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (record.status === "completed") return reply.type("application/json").send(JSON.stringify(record.result ?? null));
  const error = record.error ?? { code: ErrorCodes.WORKFLOW_FAILED, message: `the run ended ${record.status}` };
  if (error.errorId === undefined && errorWire(error.code as ErrorCode)?.status === undefined) {
    return sendError(new NexoError(error.code as ErrorCode, error.message), request, reply);
  }
  return reply
    .code(errorWire(error.code as ErrorCode)?.status ?? 500)
    .type("application/json")
    .send({ error });
}

function mismatch(): NexoError {
  return new NexoError(ErrorCodes.IDEMPOTENCY_KEY_MISMATCH, "this Idempotency-Key was already used with other inputs (or another workflow); use a new key for a new request");
}

/** A run as every run route answers it: its view and where to poll it and follow its events. */
function linkedRunView(record: RunRecord): ReturnType<typeof toRunView> & { links: { self: string; events: string } } {
  return { ...toRunView(record), links: { self: `/runs/${record.id}`, events: `/runs/${record.id}/events` } };
}

/** `POST /workflows/:name/runs`, `GET /runs`, `GET /runs/:id`, `DELETE /runs/:id`, `GET /runs/:id/events`. */
export function registerRunRoutes(http: FastifyInstance, app: Nexo): void {
  http.post<{ Params: { name: string } }>("/workflows/:name/runs", async (request, reply) => {
    const keyHeader = request.headers[IDEMPOTENCY_HEADER];
    const key = keyHeader === undefined ? undefined : parseIdempotencyKey(keyHeader);
    const out = await app.runs.start(request.params.name, request.body ?? {}, {
      channel: "http",
      ...callerOf(app, request),
      sessionId: sessionOf(request),
      headers: request.headers,
      ...(key !== undefined ? { idempotencyKey: key } : {}),
    });
    if (!out.created) {
      if (!out.sameInputs) throw mismatch();
      reply.header(REPLAYED_HEADER, "true");
    }
    const record = out.record;
    return reply.code(202).header("location", `/runs/${record.id}`).send(linkedRunView(record));
  });

  http.get<{ Querystring: { status?: string; workflow?: string; limit?: string } }>("/runs", async (request) => {
    const { status, workflow, limit } = request.query;
    // A misspelt filter (`state=`, `name=`) would otherwise list every run as if it had matched.
    const unknown = Object.keys(request.query).filter((k) => k !== "status" && k !== "workflow" && k !== "limit");
    if (unknown.length > 0) throw new NexoError(ErrorCodes.HTTP_BAD_REQUEST, `unknown filter ${unknown.join(", ")}: use status, workflow or limit`);
    if (status !== undefined && !RUN_STATUSES.has(status as RunStatus)) {
      throw new NexoError(ErrorCodes.HTTP_BAD_REQUEST, `status must be one of ${[...RUN_STATUSES].join(", ")}, got ${JSON.stringify(status)}`);
    }
    const n = limit === undefined ? undefined : Number(limit);
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 1000))
      throw new NexoError(ErrorCodes.HTTP_BAD_REQUEST, `limit must be an integer from 1 to 1000, got ${JSON.stringify(limit)}`);
    const runs = await app.runs.list(
      { scope: scopeOf(app, request) },
      { ...(status ? { status: status as RunStatus } : {}), ...(workflow ? { workflow } : {}), ...(n ? { limit: n } : {}) },
    );
    return { runs: runs.map((r) => linkedRunView(r)) };
  });

  http.get<{ Params: { id: string } }>("/runs/:id", async (request) => linkedRunView(await findRun(app, request)));

  http.delete<{ Params: { id: string } }>("/runs/:id", async (request, reply) => {
    const { record, pending } = await app.runs.cancel(request.params.id, { scope: scopeOf(app, request) });
    return reply.code(pending ? 202 : 200).send({ ...linkedRunView(record), ...(pending ? { cancelRequested: true } : {}) });
  });

  http.get<{ Params: { id: string } }>("/runs/:id/events", async (request, reply) => {
    const record = await findRun(app, request);
    const last = Number(request.headers["last-event-id"] ?? 0);
    const after = Number.isInteger(last) && last > 0 ? last : 0;
    const release = app.runs.openEventStream();
    const sse = openSse(reply);
    sse.onClose(release);
    const finish = (r: RunRecord): void => {
      sse.send("end", { ...toRunView(r), eventsDropped: r.eventsDropped + sse.dropped }, undefined, true);
      sse.end();
    };
    const sub = app.runs.subscribe(record.id, after, { onEvent: (e) => void sse.send(e.kind, e.value, e.seq), onEnd: finish });
    if (sub) {
      for (const e of sub.replay) sse.send(e.kind, e.value, e.seq);
      if (sub.ended) finish(sub.ended);
      else sse.onClose(() => sub.unsubscribe());
      return;
    }
    if (record.status !== "queued" && record.status !== "running") return finish(record);
    // Run by another daemon on the shared store: its events stay there; follow its status until it ends.
    followRemote(app, request, sse, finish);
  });
}

function followRemote(app: Nexo, request: IdRequest, sse: SseStream, finish: (r: RunRecord) => void): void {
  const access = { scope: scopeOf(app, request) };
  const timer = setInterval(() => {
    app.runs.get(request.params.id, access).then(
      (r) => {
        if (!r || (r.status !== "queued" && r.status !== "running")) {
          clearInterval(timer);
          if (r) finish(r);
          else sse.end();
        }
      },
      () => {
        clearInterval(timer);
        sse.end();
      },
    );
  }, 1000);
  timer.unref();
  sse.onClose(() => clearInterval(timer));
}

async function findRun(app: Nexo, request: IdRequest): Promise<RunRecord> {
  const record = await app.runs.get(request.params.id, { scope: scopeOf(app, request) });
  if (!record) throw new NexoError(ErrorCodes.RUN_NOT_FOUND, `no run ${request.params.id}`, { data: { run: request.params.id } });
  return record;
}

// Clients flooding the runs API: many starts at once, many event streams,
// hostile Idempotency-Key values and audit filters.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { parseAuditQuery } from "../../src/authz/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { principalScope } from "../../src/runs/index.js";
import { testApp } from "../helpers/app.js";
import { readSse } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";

const MAX_QUEUED = 5;
const MAX_STREAMS = 3;
/** Events of 8 KiB the burst workflow emits: 40 MiB, far more than a stalled reader's socket and 1 MiB send buffer hold. */
const BURST = 5000;
const CHUNK = "c".repeat(8192);
/** The scope of an HTTP caller without credentials, so the runs started here are theirs too. */
const ANONYMOUS = principalScope(undefined, null);

test("hostile - runs under a flood of clients", async (t) => {
  const { app } = testApp(t, { http: true, runs: { maxConcurrent: 1, maxQueued: MAX_QUEUED, heartbeatMs: 100, maxEventStreams: MAX_STREAMS }, drainTimeoutMs: 100 });
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  app.register("hold", async (_inputs: Record<string, unknown>, ctx) => {
    ctx.progress({ progress: 1, total: 1, message: "holding" });
    await Promise.race([gate, new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)))]);
    return { ok: true };
  });
  let go!: () => void;
  const burst = new Promise<void>((r) => (go = r));
  app.register("burst", async (_inputs: Record<string, unknown>, ctx) => {
    await burst;
    for (let i = 1; i <= BURST; i++) ctx.emit(CHUNK);
    return { emitted: BURST };
  });
  await app.start();
  const url = app.url!;
  t.after(() => open());

  await t.test("hostile - 300 concurrent starts take at most runs.max_queued places; the rest are NEXO_ERR_RUN_QUEUE_FULL", async () => {
    const first = await app.runs.start("hold", {}, { scope: ANONYMOUS });
    assert.ok(first.created);
    await waitFor(async () => (await app.runs.get(first.id, "operator"))?.status === "running", "the first run to run");
    const outcomes = await Promise.allSettled(Array.from({ length: 300 }, () => app.runs.start("hold", {}, { scope: ANONYMOUS })));
    const created = outcomes.filter((o) => o.status === "fulfilled").length;
    const refused = outcomes.filter((o) => o.status === "rejected" && isNexoError(o.reason, ErrorCodes.RUN_QUEUE_FULL)).length;
    assert.equal(created, MAX_QUEUED);
    assert.equal(refused, 300 - MAX_QUEUED);
    assert.equal(app.runs.queued, MAX_QUEUED);
    // Over HTTP the refusal is a 503 with Retry-After.
    const res = await fetch(`${url}/workflows/hold/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, ErrorCodes.RUN_QUEUE_FULL);
    assert.ok(res.headers.get("retry-after"));
  });

  await t.test("hostile - GET /runs/:id/events past runs.max_event_streams is a 503 NEXO_ERR_RUN_STREAM_LIMIT; a closed stream frees its place", async () => {
    const [run] = await app.runs.list("operator", { status: "running" });
    const controllers = Array.from({ length: MAX_STREAMS }, () => new AbortController());
    const streams = await Promise.all(controllers.map((c) => fetch(`${url}/runs/${run.id}/events`, { signal: c.signal })));
    for (const s of streams) assert.equal(s.status, 200);
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${url}/runs/${run.id}/events`);
      assert.equal(r.status, 503);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, ErrorCodes.RUN_STREAM_LIMIT);
    }
    assert.deepEqual(app.runs.eventStreamStats, { open: MAX_STREAMS, refused: 20 });
    controllers[0].abort();
    await waitFor(() => app.runs.eventStreamStats.open === MAX_STREAMS - 1, "the aborted stream to free its place", 5000, 10);
    const res = await fetch(`${url}/runs/${run.id}/events`);
    assert.equal(res.status, 200);
    // The runs end: the server ends the streams it still holds, each with its `end` event.
    open();
    for (const s of [res, ...streams.slice(1)]) assert.equal((await readSse(s)).at(-1)?.event, "end");
    await waitFor(() => app.runs.eventStreamStats.open === 0, "every stream to be closed", 5000, 10);
  });

  await t.test("hostile - a stalled SSE reader while a workflow emits 40 MiB: the run completes, the excess is dropped and counted, the end still arrives", async () => {
    const out = await app.runs.start("burst", {}, { scope: ANONYMOUS });
    assert.ok(out.created);
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    t.after(() => socket.destroy());
    await new Promise<void>((r) => socket.once("connect", r));
    socket.write(`GET /runs/${out.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    socket.pause();
    await waitFor(() => app.runs.eventStreamStats.open === 1, "the stream to open", 5000, 10);
    go();
    // The workflow never waits for its reader.
    const record = await out.done;
    assert.equal(record.status, "completed");
    socket.resume();
    let text = "";
    socket.setEncoding("utf8");
    await new Promise<void>((resolve) => {
      socket.on("data", (d: string) => {
        text += d;
        if (text.includes("event: end")) resolve();
      });
    });
    const chunks = text.split("event: chunk").length - 1;
    const end = JSON.parse(/event: end\ndata: (.*)\n/.exec(text)![1]!) as { status: string; eventsDropped: number };
    assert.equal(end.status, "completed");
    assert.ok(chunks < BURST, `${chunks} of ${BURST} events reached the stalled reader`);
    assert.ok(end.eventsDropped >= BURST - chunks, `drops counted (${end.eventsDropped})`);
  });

  await t.test("hostile - a 2 MB run input is 413 NEXO_ERR_HTTP_PAYLOAD_TOO_LARGE, one nested 10,000 deep is 400 NEXO_ERR_HTTP_JSON_TOO_DEEP", async () => {
    const post = (body: string) => fetch(`${url}/workflows/hold/runs`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const big = await post(JSON.stringify({ blob: "b".repeat(2_000_000) }));
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, ErrorCodes.HTTP_PAYLOAD_TOO_LARGE);
    const deep = await post(`${"[".repeat(10_000)}${"]".repeat(10_000)}`);
    assert.equal(deep.status, 400);
    assert.equal(((await deep.json()) as { error: { code: string } }).error.code, ErrorCodes.HTTP_JSON_TOO_DEEP);
  });

  await t.test("hostile - Idempotency-Key values past 255 characters, with control characters, unterminated or empty are 400 NEXO_ERR_IDEMPOTENCY_KEY_INVALID", async () => {
    for (const key of ["k".repeat(256), "k".repeat(8000), "a\tb", '"unterminated', " "]) {
      const res = await fetch(`${url}/workflows/hold/runs`, { method: "POST", headers: { "content-type": "application/json", "idempotency-key": key }, body: "{}" });
      assert.equal(res.status, 400, key.slice(0, 20));
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, ErrorCodes.IDEMPOTENCY_KEY_INVALID);
    }
  });
});

test("hostile - GET /audit filters with hostile values are refused naming the filter", () => {
  const hostile: Array<Record<string, unknown>> = [
    { limit: "1e9" },
    { limit: "0" },
    { limit: ["1", "2"] },
    { limit: "9".repeat(400) },
    { before: "-1" },
    { before: "1.5" },
    { since: "not a date" },
    { since: "x".repeat(300) },
    { principal: "p".repeat(257) },
    { principal: ["a", "b"] },
    { kind: "workflow; DROP TABLE" },
    { allowed: "yes" },
    { constructor: "y" },
    { "name[$ne]": "x" },
  ];
  for (const q of hostile) {
    assert.throws(
      () => parseAuditQuery(q),
      (err: { code?: string; message: string }) => typeof err.code === "string" && err.code.startsWith("NEXO_ERR_") && Object.keys(q).some((k) => err.message.includes(k)),
      JSON.stringify(q),
    );
  }
  assert.deepEqual(parseAuditQuery({ limit: "1000", before: "999999999999999" }), { limit: 1000, before: 999_999_999_999_999 });
});

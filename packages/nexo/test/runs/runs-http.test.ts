import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Nexo } from "../../src/app/index.js";
import type { Event } from "../../src/contract/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { readSse } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";

interface Gate {
  open: () => void;
  promise: Promise<void>;
}

/** One app for the file: workflows a test drives through gates, counters of handler calls. */
async function startApp(t: TestContext) {
  const gates = new Map<string, Gate>();
  const gate = (name: string): Gate => {
    let g = gates.get(name);
    if (!g) {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      g = { open, promise };
      gates.set(name, g);
    }
    return g;
  };
  const calls = new Map<string, number>();
  const aborted: string[] = [];
  const broker = new LocalBroker();
  t.after(() => broker.close());
  const { app } = testApp(t, { http: true, broker, runs: { maxConcurrent: 2, maxQueued: 1, heartbeatMs: 100 } });
  app.register("count", async (inputs: { n?: number }, ctx) => {
    calls.set(ctx.workflowId, (calls.get(ctx.workflowId) ?? 0) + 1);
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    return { n: inputs.n ?? 0, total, principal: ctx.principal?.id ?? null };
  });
  app.register(
    "wait",
    async (inputs: { gate: string }, ctx) => {
      ctx.progress({ progress: 1, total: 2, message: "waiting" });
      await new Promise<void>((resolve, reject) => {
        ctx.signal.addEventListener("abort", () => {
          aborted.push(inputs.gate);
          reject(ctx.signal.reason);
        });
        gate(inputs.gate).promise.then(resolve);
      });
      ctx.emit("after the gate");
      return { gate: inputs.gate };
    },
    { inputSchema: { type: "object", required: ["gate"], properties: { gate: { type: "string" } } } },
  );
  // A stand-in for the AuthPlugin: the principal comes from a header.
  app.http.addHook("onRequest", async (request) => {
    const user = request.headers["x-test-user"];
    if (typeof user === "string") request.principal = { id: user, strategy: "api_key" };
  });
  await app.start();
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { app, gate, calls, aborted, broker, post };
}

test("runs - POST /workflows/:name/runs answers 202 with a Location; the run completes with its result, timings, and only its principal sees it", async (t) => {
  const { app, post } = await startApp(t);
  const res = await post("/workflows/count/runs", { n: 7 }, { "x-test-user": "alice" });
  assert.equal(res.status, 202);
  const body = (await res.json()) as { id: string; status: string; links: unknown };
  assert.equal(res.headers.get("location"), `/runs/${body.id}`);
  const links = { self: `/runs/${body.id}`, events: `/runs/${body.id}/events` };
  assert.deepEqual(body.links, links);
  assert.equal(body.status, "queued");
  const run = (await waitFor(async () => {
    const r = (await (await fetch(`${app.url}/runs/${body.id}`, { headers: { "x-test-user": "alice" } })).json()) as Record<string, any>;
    return r.status === "completed" ? r : undefined;
  }, "the run to complete"))!;
  assert.equal(run.result.n, 7);
  assert.equal(run.result.principal, "alice");
  assert.equal(run.workflow, "count");
  assert.equal(run.channel, "http");
  assert.ok(Date.parse(run.finishedAt) >= Date.parse(run.startedAt) && Date.parse(run.startedAt) >= Date.parse(run.createdAt));
  assert.equal(typeof run.durationSeconds, "number");
  assert.deepEqual(run.links, links, "GET /runs/:id carries the links the 202 gave");
  const followed = await fetch(`${app.url}${run.links.self}`, { headers: { "x-test-user": "alice" } });
  assert.equal(((await followed.json()) as { id: string }).id, body.id, "the self link leads to the run");
  // Another principal (or nobody) does not see alice's run.
  const other = await fetch(`${app.url}/runs/${body.id}`, { headers: { "x-test-user": "bob" } });
  assert.equal(other.status, 404);
  assert.equal(((await other.json()) as any).error.code, "NEXO_ERR_RUN_NOT_FOUND");
  const list = (await (await fetch(`${app.url}/runs`, { headers: { "x-test-user": "alice" } })).json()) as { runs: Array<{ id: string; links: unknown }> };
  assert.deepEqual(
    list.runs.map((r) => r.id),
    [body.id],
  );
  assert.deepEqual(list.runs[0]!.links, links, "each listed run carries its links");
  // Filters: a misspelt one is refused rather than ignored (which would list every run as if it matched).
  const filtered = (q: string) => fetch(`${app.url}/runs?${q}`, { headers: { "x-test-user": "alice" } });
  assert.equal(((await (await filtered("status=completed&workflow=count&limit=5")).json()) as { runs: unknown[] }).runs.length, 1);
  const misspelt = await filtered("state=failed");
  assert.equal(misspelt.status, 400);
  assert.match(((await misspelt.json()) as any).error.message, /unknown filter state/);
  // A bad call is refused at submission, not as a failed run.
  const bad = await post("/workflows/wait/runs", { gate: 3 });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as any).error.code, "NEXO_ERR_WORKFLOW_INVALID_INPUT");
  assert.equal((await post("/workflows/nope/runs", {})).status, 404);
  const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
  assert.deepEqual(Object.keys(doc.paths["/workflows/wait/runs"]!), ["post"]);
  assert.deepEqual(Object.keys(doc.paths["/runs/{id}"]!).sort(), ["delete", "get"]);
  assert.ok(doc.paths["/runs/{id}/events"]!.get.responses["200"].content["text/event-stream"]);
  assert.ok(doc.paths["/workflows/wait/execute"]!.post.parameters.some((p: { name: string }) => p.name === "Idempotency-Key"));
  assert.ok(doc.paths["/health/ready"] && doc.paths["/health/live"] && doc.paths["/runs"]);
  // Every answer these routes give is documented with its body: a refused principal (403), the run list, the probes.
  const codes = (path: string, method: string): string[] => Object.keys(doc.paths[path]![method].responses).sort();
  for (const status of ["401", "403", "429"]) {
    assert.ok(codes("/workflows/wait/runs", "post").includes(status), `POST /workflows/wait/runs documents ${status}`);
    assert.ok(codes("/workflows/wait/execute", "post").includes(status), `POST /workflows/wait/execute documents ${status}`);
  }
  assert.ok(codes("/workflows/wait/execute", "post").includes("503"), "an interrupted run replayed by its key");
  assert.deepEqual(doc.paths["/runs"]!.get.responses["200"].content["application/json"].schema.properties.runs.items, { $ref: "#/components/schemas/Run" });
  for (const probe of ["/health/live", "/health/ready"]) assert.ok(doc.paths[probe]!.get.responses["503"].content["application/json"].schema, `${probe} has a body schema`);
  const runSchema = (doc as unknown as { components: { schemas: { Run: { properties: Record<string, unknown>; required: string[] } } } }).components.schemas.Run;
  assert.ok(runSchema.required.includes("links"), "every Run the routes answer has links");
  for (const field of Object.keys(body)) assert.ok(field in runSchema.properties, `the Run schema has the 202's field "${field}"`);
});

test("runs - DELETE /runs/:id cancels a run mid-way (ctx.signal aborts), a queued run never starts, and a full queue is 503 NEXO_ERR_RUN_QUEUE_FULL", async (t) => {
  const { app, gate, aborted, post } = await startApp(t);
  const start = async (g: string): Promise<string> => ((await (await post("/workflows/wait/runs", { gate: g })).json()) as { id: string }).id;
  const a = await start("a");
  const b = await start("b");
  await waitFor(async () => ((await (await fetch(`${app.url}/runs/${a}`)).json()) as any).status === "running", "run a to be running");
  const queued = await start("q"); // max_concurrent 2: this one waits
  assert.equal(((await (await fetch(`${app.url}/runs/${queued}`)).json()) as any).status, "queued");
  const full = await post("/workflows/wait/runs", { gate: "z" }); // max_queued 1
  assert.equal(full.status, 503);
  assert.equal(((await full.json()) as any).error.code, "NEXO_ERR_RUN_QUEUE_FULL");
  assert.ok(Number(full.headers.get("retry-after")) >= 1);

  const cancelled = await fetch(`${app.url}/runs/${a}`, { method: "DELETE" });
  assert.equal(cancelled.status, 200);
  const view = (await cancelled.json()) as any;
  assert.equal(view.status, "cancelled");
  assert.equal(view.error.code, "NEXO_ERR_RUN_CANCELLED");
  assert.deepEqual(view.links, { self: `/runs/${a}`, events: `/runs/${a}/events` });
  assert.deepEqual(aborted, ["a"]);
  // The freed slot went to the queued run; cancel it too, then let b finish.
  await waitFor(async () => ((await (await fetch(`${app.url}/runs/${queued}`)).json()) as any).status === "running", "the queued run to start");
  gate("b").open();
  await waitFor(async () => ((await (await fetch(`${app.url}/runs/${b}`)).json()) as any).status === "completed", "run b to complete");
  const again = await fetch(`${app.url}/runs/${b}`, { method: "DELETE" });
  assert.equal(again.status, 409);
  assert.equal(((await again.json()) as any).error.code, "NEXO_ERR_RUN_FINISHED");
  gate("q").open();
});

test("runs - a queued run cancelled before it starts ends cancelled without running", async (t) => {
  const { app, gate, post } = await startApp(t);
  const ids: string[] = [];
  for (const g of ["x1", "x2", "x3"]) ids.push(((await (await post("/workflows/wait/runs", { gate: g })).json()) as { id: string }).id);
  const res = await fetch(`${app.url}/runs/${ids[2]}`, { method: "DELETE" });
  const view = (await res.json()) as any;
  assert.equal(view.status, "cancelled");
  assert.equal(view.startedAt, view.finishedAt, "never ran: started and finished at the cancellation");
  gate("x1").open();
  gate("x2").open();
});

test("runs - ctx.progress and ctx.emit reach the caller as SSE on execute, on GET /runs/:id/events, and as broker events", async (t) => {
  const { app, gate, post, broker } = await startApp(t);
  const onBroker: Event[] = [];
  broker.subscribe("workflow.wait.progress", (e) => void onBroker.push(e));
  // execute with Accept: text/event-stream
  gate("s1").open();
  const res = await post("/workflows/wait/execute", { gate: "s1" }, { accept: "text/event-stream" });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = await readSse(res);
  assert.deepEqual(
    events.map((e) => e.event),
    ["progress", "chunk", "result"],
  );
  assert.deepEqual(events[0]!.data, { progress: 1, total: 2, message: "waiting" });
  assert.equal(events[1]!.data, "after the gate");
  assert.deepEqual(events[2]!.data.result, { gate: "s1" });
  await waitFor(() => onBroker.length >= 2, "the broker events");
  assert.deepEqual(
    onBroker.map((e) => (e.payload as any).kind),
    ["progress", "chunk"],
  );

  // A run followed live; a late subscriber replays from Last-Event-ID.
  const { id } = (await (await post("/workflows/wait/runs", { gate: "s2" })).json()) as { id: string };
  const live = fetch(`${app.url}/runs/${id}/events`).then((r) => readSse(r, (e) => void (e.event === "progress" && gate("s2").open())));
  const got = await live;
  assert.deepEqual(
    got.map((e) => e.event),
    ["progress", "chunk", "end"],
  );
  assert.equal(got[2]!.data.status, "completed");
  assert.deepEqual(got[2]!.data.result, { gate: "s2" });
  const late = await readSse(await fetch(`${app.url}/runs/${id}/events`, { headers: { "last-event-id": "1" } }));
  assert.deepEqual(
    late.map((e) => e.event),
    ["chunk", "end"],
  );
});

test("idempotency - a retried execute with the same key runs once and replays the result; a concurrent retry is 409, other inputs 422, another principal its own run", async (t) => {
  const { calls, post, gate } = await startApp(t);
  const before = [...calls.values()].length;
  const first = await post("/workflows/count/execute", { n: 1 }, { "idempotency-key": '"order-1"' });
  assert.equal(first.status, 200);
  const r1 = (await first.json()) as any;
  const retry = await post("/workflows/count/execute", { n: 1 }, { "idempotency-key": "order-1" });
  assert.equal(retry.status, 200);
  assert.equal(retry.headers.get("idempotent-replayed"), "true");
  assert.equal(retry.headers.get("x-nexo-run-id"), first.headers.get("x-nexo-run-id"));
  assert.deepEqual(await retry.json(), r1);
  assert.equal([...calls.values()].length - before, 1, "the workflow ran once");

  const other = await post("/workflows/count/execute", { n: 2 }, { "idempotency-key": "order-1" });
  assert.equal(other.status, 422);
  assert.equal(((await other.json()) as any).error.code, "NEXO_ERR_IDEMPOTENCY_KEY_MISMATCH");
  const bob = await post("/workflows/count/execute", { n: 1 }, { "idempotency-key": "order-1", "x-test-user": "bob" });
  assert.equal(bob.status, 200);
  assert.equal(bob.headers.get("idempotent-replayed"), null);
  assert.equal([...calls.values()].length - before, 2);

  const slow = post("/workflows/wait/execute", { gate: "i1" }, { "idempotency-key": "slow-1" });
  // The first request's run is running: a duplicate now is 409 (the draft's "still being processed").
  let dup: Response | undefined;
  await waitFor(async () => {
    dup = await post("/workflows/wait/execute", { gate: "i1" }, { "idempotency-key": "slow-1" });
    return dup.status === 409;
  }, "the duplicate to see the first request running");
  assert.equal(((await dup!.json()) as any).error.code, "NEXO_ERR_IDEMPOTENCY_IN_PROGRESS");
  gate("i1").open();
  assert.equal((await slow).status, 200);

  // On the runs route the duplicate names the same run.
  const run1 = await post("/workflows/count/runs", { n: 5 }, { "idempotency-key": "job-5" });
  const run2 = await post("/workflows/count/runs", { n: 5 }, { "idempotency-key": "job-5" });
  assert.equal(run2.status, 202);
  assert.equal(run2.headers.get("location"), run1.headers.get("location"));
  assert.equal(run2.headers.get("idempotent-replayed"), "true");
  const bad = await post("/workflows/count/execute", {}, { "idempotency-key": "" });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as any).error.code, "NEXO_ERR_IDEMPOTENCY_KEY_INVALID");
  // A key of a fine length with a non-ASCII character is refused for that character, not for its length.
  const accented = await post("/workflows/count/execute", {}, { "idempotency-key": Buffer.from('"clé-1"', "utf8").toString("latin1") });
  assert.equal(accented.status, 400);
  assert.match(((await accented.json()) as any).error.message, /character 3 is not \(non-ASCII/);
});

test("runs - a run started at once is stored running from the start, and settles with the record the store holds, even when another daemon marked it interrupted meanwhile", async (t) => {
  const { app, gate } = await startApp(t);
  const caller = { channel: "http", scope: "api_key:alice", immediate: true } as const;
  const out = await app.runs.start("wait", { gate: "rec-1" }, { ...caller, idempotencyKey: "rec-1" });
  assert.ok(out.created);
  assert.deepEqual([out.record.status, out.record.startedAt], ["running", out.record.createdAt]);
  // No queued phase in the store either.
  assert.equal((await app.runs.get(out.id, "operator"))?.status, "running");
  gate("rec-1").open();
  const settled = await out.done;
  assert.equal(settled.status, "completed");
  assert.deepEqual(settled, await app.runs.get(out.id, "operator"), "the record built on settling is the stored one");

  // Another daemon sharing the store found this one silent and marked the run interrupted: the store wins.
  const second = await app.runs.start("wait", { gate: "rec-2" }, { ...caller, idempotencyKey: "rec-2" });
  assert.ok(second.created);
  const store = await app.runs.store();
  await store.exec("UPDATE nexo_runs SET status = 'interrupted', finished_at = ? WHERE id = ?", [Date.now(), second.id]);
  gate("rec-2").open();
  const interrupted = await second.done;
  assert.equal(interrupted.status, "interrupted");
  assert.deepEqual(interrupted, await app.runs.get(second.id, "operator"));
});

/** Two lives of one daemon on one state dir and store. */
function daemonLife(t: TestContext, stateDir: string, store: string, drainTimeoutMs = 50): Nexo {
  const { app } = testApp(t, { http: true, stateDir, store, drainTimeoutMs });
  app.register("forever", (_inputs, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))));
  app.register("ignores-signal", () => new Promise(() => undefined));
  return app;
}

test("runs - a run in progress when the daemon stops, or dies, shows interrupted after it comes back; an idempotency key holds across the restart", async (t) => {
  const dir = tempDir(t);
  const store = `sqlite:${dir}/shared.db`;
  const first = daemonLife(t, `${dir}/state`, store);
  first.register("once", (inputs: { v?: number }) => ({ v: inputs.v ?? 0, at: Date.now() }));
  await first.start();
  const start = async (app: Nexo, name: string): Promise<string> => {
    const res = await fetch(`${app.url}/workflows/${name}/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    return ((await res.json()) as { id: string }).id;
  };
  const keyed = await fetch(`${first.url}/workflows/once/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "k-restart" },
    body: '{"v":1}',
  });
  const keyedResult = await keyed.json();
  const stopped = await start(first, "forever");
  await waitFor(async () => (await first.runs.get(stopped, "operator"))?.status === "running", "the run to be running");
  await first.stop(); // drain deadline 50 ms, then the run is aborted
  assert.equal((await readRun(store, stopped))?.status, "interrupted");

  // Second life: a run whose daemon dies (here: never stops, its store row stays "running").
  const second = daemonLife(t, `${dir}/state`, store);
  second.register("once", () => ({ ran: "again" }));
  await second.start();
  const died = await start(second, "ignores-signal");
  await waitFor(async () => (await second.runs.get(died, "operator"))?.status === "running", "the run to be running");
  // Third life on the same state dir, while the second is frozen: it finds the run of its previous life.
  const third = daemonLife(t, `${dir}/state`, store);
  third.register("once", () => ({ ran: "again" }));
  await third.start();
  const view = (await (await fetch(`${third.url}/runs/${died}`)).json()) as any;
  assert.equal(view.status, "interrupted");
  assert.equal(view.error.code, "NEXO_ERR_WORKFLOW_INTERRUPTED");
  const replay = await fetch(`${third.url}/workflows/once/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "k-restart" },
    body: '{"v":1}',
  });
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(await replay.json(), keyedResult);
});

async function readRun(store: string, id: string): Promise<{ status: string } | undefined> {
  const { createStore } = await import("../../src/store/index.js");
  const s = await createStore(store);
  try {
    const rows = await s.query("SELECT status FROM nexo_runs WHERE id = ?", [id]);
    return rows[0] as { status: string } | undefined;
  } finally {
    await s.close();
  }
}

test("conventions - with the AuthPlugin on, /health/live and /health/ready answer without credentials while /runs needs them", async (t) => {
  const { AuthPlugin, hashApiKey } = await import("../../src/plugins/index.js");
  const { app } = testApp(t);
  await app.addPlugin(new AuthPlugin({ strategy: "api_key", apiKeys: [{ id: "ops", hash: hashApiKey("ops-key-0123456789abcdef") }] }));
  await app.start();
  assert.equal((await app.http.inject({ url: "/health/live" })).statusCode, 200);
  assert.equal((await app.http.inject({ url: "/health/ready" })).statusCode, 200);
  assert.equal((await app.http.inject({ url: "/runs" })).statusCode, 401);
  assert.equal((await app.http.inject({ url: "/runs", headers: { "x-api-key": "ops-key-0123456789abcdef" } })).statusCode, 200);
});

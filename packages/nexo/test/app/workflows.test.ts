import assert from "node:assert/strict";
import { test } from "node:test";
import type { Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError, type NexoError } from "../../src/errors.js";
import type { WorkflowCompletedEvent, WorkflowFailedEvent, WorkflowStartedEvent } from "../../src/app/index.js";
import { testApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

const GREET_SCHEMA = {
  type: "object",
  required: ["name", "age"],
  additionalProperties: false,
  properties: { name: { type: "string", minLength: 1 }, age: { type: "integer", minimum: 0 }, lang: { enum: ["en", "es"] } },
};

test("workflows - register and execute return the handler's result, with a context", async (t) => {
  const { app } = testApp(t);
  let seen: any;
  app.register("greet", (inputs: { name: string }, ctx) => {
    seen = ctx;
    return { text: `hello ${inputs.name}` };
  });
  await app.start();
  assert.deepEqual(await app.executeWorkflow("greet", { name: "Ada" }, { channel: "test", sessionId: "s-1" }), { text: "hello Ada" });
  assert.match(seen.workflowId, /^[0-9a-f-]{36}$/);
  assert.equal(seen.workflowName, "greet");
  assert.equal(seen.channel, "test");
  assert.equal(seen.sessionId, "s-1");
  assert.equal(seen.app, app);
  assert.equal(seen.signal.aborted, false);
  const defaults = await app.executeWorkflow("greet", { name: "Bo" }).then(() => seen);
  assert.equal(defaults.channel, "local");
  assert.equal(defaults.sessionId, null);
});

test("workflows - invalid inputs are refused with every violation listed, and the handler never runs", async (t) => {
  const { app } = testApp(t);
  let runs = 0;
  app.register("person", () => void runs++, { inputSchema: GREET_SCHEMA });
  const err = await app.executeWorkflow("person", { name: "", age: -1, extra: true, lang: "fr" }).catch((e: NexoError) => e);
  assert.ok(isNexoError(err, ErrorCodes.WORKFLOW_INVALID_INPUT));
  const violations = (err.details.data as { violations: Array<{ path: string; message: string }> }).violations;
  assert.deepEqual(violations.map((v) => v.path).sort(), ["/age", "/extra", "/lang", "/name"]);
  assert.match(violations.find((v) => v.path === "/lang")!.message, /"en", "es"/);
  const missing = await app.executeWorkflow("person", {}).then(
    () => assert.fail("inputs missing required fields must be refused"),
    (e: NexoError) => e,
  );
  assert.deepEqual((missing.details.data as any).violations.map((v: any) => v.path).sort(), ["/age", "/name"]);
  for (const notObject of [null, [], "x", 3]) {
    await assert.rejects(app.executeWorkflow("person", notObject), (e) => isNexoError(e, ErrorCodes.WORKFLOW_INVALID_INPUT));
  }
  assert.equal(runs, 0);
});

test("workflows - unknown names, bad names, duplicates and invalid schemas are refused with their codes", async (t) => {
  const { app } = testApp(t);
  await assert.rejects(app.executeWorkflow("nope", {}), (e) => isNexoError(e, ErrorCodes.WORKFLOW_NOT_FOUND));
  for (const bad of ["", "1abc", "a.b", "a b", "x".repeat(65), 7]) {
    assert.throws(
      () => app.register(bad as string, () => 1),
      (e) => isNexoError(e, ErrorCodes.WORKFLOW_INVALID_DEFINITION),
      String(bad),
    );
  }
  app.register("dup", () => 1);
  assert.throws(
    () => app.register("dup", () => 2),
    (e) => isNexoError(e, ErrorCodes.WORKFLOW_DUPLICATE),
  );
  assert.throws(
    () => app.register("bad_schema", () => 1, { inputSchema: { type: "no-such-type" } }),
    (e) => isNexoError(e, ErrorCodes.WORKFLOW_INVALID_DEFINITION),
  );
  assert.throws(
    () => app.register("not_fn", 5 as never),
    (e) => isNexoError(e, ErrorCodes.WORKFLOW_INVALID_DEFINITION),
  );
  const off = app.register("temp", () => 1);
  off();
  assert.equal(app.getWorkflow("temp"), undefined);
});

test("workflows - started/completed/failed reach hooks with the reference fields and the broker as workflow.<name>.<phase>", async (t) => {
  const { app } = testApp(t);
  const started: WorkflowStartedEvent[] = [];
  const completed: WorkflowCompletedEvent[] = [];
  const failed: WorkflowFailedEvent[] = [];
  app.onWorkflowStarted((e) => void started.push(e));
  app.onWorkflowCompleted((e) => void completed.push(e));
  app.onWorkflowFailed((e) => void failed.push(e));
  const onBroker: Event[] = [];
  app.broker.subscribe("workflow.*.*", (e) => void onBroker.push(e));
  app.register("ok", async (i: { n: number }) => ({ doubled: i.n * 2 }));
  app.register("boom", () => {
    throw new Error("kaput");
  });
  await app.start();
  await app.executeWorkflow("ok", { n: 21 }, { channel: "api", sessionId: "sess" });
  await assert.rejects(app.executeWorkflow("boom", {}), /kaput/);

  assert.equal(started.length, 2);
  const s = started[0];
  assert.equal(s.workflowName, "ok");
  assert.equal(s.channel, "api");
  assert.equal(s.sessionId, "sess");
  assert.deepEqual(s.inputs, { n: 21 });
  assert.ok(!Number.isNaN(Date.parse(s.timestamp)));
  assert.equal(completed.length, 1);
  assert.equal(completed[0].workflowId, s.workflowId);
  assert.deepEqual(completed[0].result, { doubled: 42 });
  assert.ok(completed[0].duration >= 0 && completed[0].duration < 60, "duration is in seconds");
  assert.equal(failed.length, 1);
  assert.equal(failed[0].workflowName, "boom");
  assert.equal(failed[0].error.message, "kaput");
  assert.equal(failed[0].error.code, ErrorCodes.WORKFLOW_FAILED);

  await waitFor(() => onBroker.length === 4, "four workflow events on the broker");
  assert.deepEqual(
    onBroker.map((e) => e.topic),
    ["workflow.ok.started", "workflow.ok.completed", "workflow.boom.started", "workflow.boom.failed"],
  );
  const p = onBroker[1].payload as Record<string, unknown>;
  assert.equal(p.workflow_id, s.workflowId);
  assert.equal(p.workflow_name, "ok");
  assert.equal(p.session_id, "sess");
  assert.deepEqual(p.result, { doubled: 42 });
  assert.equal(typeof p.duration, "number");
  assert.equal(onBroker[1].session_id, "sess");
});

test("workflows - middleware runs in order around the handler, may change inputs, and may short-circuit", async (t) => {
  const { app } = testApp(t);
  const trace: string[] = [];
  app.register(
    "w",
    (i: { v: number }) => {
      trace.push(`handler ${i.v}`);
      return i.v;
    },
    { inputSchema: { type: "object", required: ["v"], properties: { v: { type: "integer" } } } },
  );
  app.use(async (call, next) => {
    trace.push("outer in");
    const r = await next();
    trace.push("outer out");
    return r;
  });
  const offInner = app.use(async (call, next) => {
    trace.push("inner in");
    call.inputs.v = (call.inputs.v as number) + 1;
    return ((await next()) as number) * 10;
  });
  assert.equal(await app.executeWorkflow("w", { v: 1 }), 20);
  assert.deepEqual(trace, ["outer in", "inner in", "handler 2", "outer out"]);

  offInner();
  const cache = app.use((call) => (call.inputs.v === 99 ? "cached" : undefined));
  trace.length = 0;
  assert.equal(await app.executeWorkflow("w", { v: 99 }), "cached");
  assert.deepEqual(trace, ["outer in", "outer out"], "the handler did not run");
  cache();

  // Inputs changed by middleware are validated after the chain.
  app.use((call, next) => {
    call.inputs.v = "not a number";
    return next();
  });
  await assert.rejects(app.executeWorkflow("w", { v: 1 }), (e) => isNexoError(e, ErrorCodes.WORKFLOW_INVALID_INPUT));
});

test("workflows - a middleware calling next() twice gets NEXO_ERR_WORKFLOW_NEXT_CALLED_TWICE", async (t) => {
  const { app } = testApp(t);
  let runs = 0;
  app.register("w", () => ++runs);
  app.use(async (_call, next) => {
    await next();
    return next();
  });
  await assert.rejects(app.executeWorkflow("w", {}), (e) => isNexoError(e, ErrorCodes.WORKFLOW_NEXT_CALLED_TWICE));
  assert.equal(runs, 1);
});

test("workflows - an aborted caller signal fails the execution at once with NEXO_ERR_WORKFLOW_ABORTED", async (t) => {
  const { app } = testApp(t);
  let sawAbort = false;
  let running!: () => void;
  const isRunning = new Promise<void>((r) => (running = r));
  app.register("slow", (_i, ctx) => {
    running();
    return new Promise((resolve) => ctx.signal.addEventListener("abort", () => ((sawAbort = true), resolve("late"))));
  });
  app.register("ignores", () => new Promise(() => undefined));
  const controller = new AbortController();
  const run = app.executeWorkflow("slow", {}, { signal: controller.signal });
  await isRunning;
  controller.abort();
  await assert.rejects(run, (e) => isNexoError(e, ErrorCodes.WORKFLOW_ABORTED));
  assert.equal(sawAbort, true);
  const c2 = new AbortController();
  const hung = app.executeWorkflow("ignores", {}, { signal: c2.signal });
  c2.abort();
  await assert.rejects(hung, (e) => isNexoError(e, ErrorCodes.WORKFLOW_ABORTED), "a handler ignoring the signal does not hold the caller");
});

test("workflows - lifecycle events are built only when observed, and then carry the execution's one workflowId", async (t) => {
  const { app } = testApp(t);
  const ids: string[] = [];
  app.register("w", (_i, ctx) => {
    ids.push(ctx.workflowId, ctx.workflowId);
    return 1;
  });
  app.register("quiet", () => 2);
  const completed: Event[] = [];
  app.broker.subscribe("workflow.w.completed", (e) => void completed.push(e));
  await app.start();
  await app.executeWorkflow("w", {});
  await app.executeWorkflow("quiet", {});
  await waitFor(() => completed.length === 1, "completed event of w");
  assert.equal(ids[0], ids[1], "workflowId is stable within an execution");
  assert.equal((completed[0].payload as { workflow_id: string }).workflow_id, ids[0]);
  assert.equal(app.broker.stats().published, 1, "no event was published for the unobserved workflow or phases");
});

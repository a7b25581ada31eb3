import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { Nexo } from "../../src/app/index.js";
import { BindingsService, parseBindings } from "../../src/bindings/index.js";
import type { BindingConfig } from "../../src/config/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { testApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

/** An app with the given bindings, every event on the broker recorded. */
async function setup(t: TestContext, bindings: BindingConfig[], register: (app: Nexo) => void) {
  const { app, logs } = testApp(t);
  register(app);
  const service = new BindingsService(parseBindings(bindings));
  app.addService(service);
  const seen: Event[] = [];
  const sub = app.broker.subscribe(">", (e) => void seen.push(e), { bufferSize: 100_000 });
  t.after(() => sub.unsubscribe());
  await app.start();
  const publish = (topic: string, payload: unknown, extra: { sessionId?: string; correlationId?: string } = {}): Promise<Event> => {
    const e = newEvent(topic, "test", payload, extra);
    return app.broker.publish(topic, e).then(() => e);
  };
  const on = (topic: string): Event[] => seen.filter((e) => e.topic === topic);
  return { app, logs, service, publish, on, stats: (i = 0) => service.stats()[i] };
}

test("bindings - an inbound event runs the workflow; its result goes to the matching outbound topic with the session and correlation ids", async (t) => {
  const contexts: Array<{ channel: string; sessionId: string | null }> = [];
  const { publish, on, stats } = await setup(t, [{ channel: "chat", workflow: "greet" }], (app) =>
    app.register("greet", (inputs: { name: string }, ctx) => {
      contexts.push({ channel: ctx.channel, sessionId: ctx.sessionId });
      return { text: `hello, ${inputs.name}` };
    }),
  );
  const a = await publish("plugin.inbound.chat", { name: "Ada" }, { sessionId: "s-1" });
  const b = await publish("plugin.inbound.chat.room9", { name: "Bo" }, { correlationId: "req-7" });
  await waitFor(() => stats().replies === 2, "two replies");
  const [ra] = on("plugin.outbound.chat");
  const [rb] = on("plugin.outbound.chat.room9");
  assert.deepEqual(ra.payload, { text: "hello, Ada" });
  assert.equal(ra.session_id, "s-1");
  assert.equal(ra.correlation_id, a.id, "no correlation id on the inbound event: its id correlates the reply");
  assert.equal(ra.source, "binding.greet-0");
  assert.deepEqual(ra.metadata, { binding: "greet-0", workflow: "greet", in_reply_to: a.id });
  assert.deepEqual(rb.payload, { text: "hello, Bo" });
  assert.equal(rb.correlation_id, "req-7", "an existing correlation id is carried");
  assert.equal(rb.metadata!.in_reply_to, b.id);
  assert.deepEqual(contexts, [
    { channel: "chat", sessionId: "s-1" },
    { channel: "chat", sessionId: null },
  ]);
  assert.deepEqual(
    { ...stats(), patterns: undefined },
    {
      name: "greet-0",
      patterns: undefined,
      workflow: "greet",
      outbound: "auto",
      received: 2,
      completed: 2,
      failed: 0,
      replies: 2,
      noReply: 0,
      loopsStopped: 0,
      dropped: 0,
      running: 0,
    },
  );
});

test("bindings - channel + instance targets one instance; inputs: event hands the workflow the whole event; explicit and none outbound", async (t) => {
  const got: unknown[] = [];
  const { publish, on, stats } = await setup(
    t,
    [
      { name: "sales", channel: "tg", instance: "sales-bot", workflow: "whole", inputs: "event", outbound: "plugin.outbound.sms" },
      { name: "quiet", channel: "tg", instance: "support-bot", workflow: "whole", inputs: "event", outbound: "none" },
    ],
    (app) =>
      app.register("whole", (inputs) => {
        got.push(inputs);
        return { ok: true };
      }),
  );
  const e = await publish("plugin.inbound.tg.sales-bot", "just text");
  await publish("plugin.inbound.tg.other-bot", { ignored: true });
  await publish("plugin.inbound.tg.support-bot", { q: 1 });
  await waitFor(() => stats(0).replies === 1 && stats(1).completed === 1, "both ran");
  assert.equal(got.length, 2, "the other instance's event matched no binding");
  assert.deepEqual((got[0] as Event).payload, "just text");
  assert.equal((got[0] as Event).id, e.id);
  assert.equal(on("plugin.outbound.sms").length, 1);
  assert.equal(on("plugin.outbound.tg.support-bot").length, 0, "outbound: none publishes nothing");
  assert.equal(stats(1).noReply, 1);
});

test("bindings - a failing workflow publishes nothing on the outbound topic; it is logged, counted and emitted as workflow.<name>.failed", async (t) => {
  const { publish, on, stats, logs } = await setup(
    t,
    [
      { channel: "chat", workflow: "boom" },
      { name: "silent", channel: "chat", workflow: "nothing" },
    ],
    (app) => {
      app.register("boom", () => {
        throw new Error("kaput");
      });
      app.register("nothing", () => null);
    },
  );
  await publish("plugin.inbound.chat", { x: 1 }, { sessionId: "s-9" });
  await publish("plugin.inbound.chat", "not an object");
  await waitFor(() => stats(0).failed === 2 && stats(1).received === 2, "both failed");
  await waitFor(() => on("workflow.boom.failed").length === 1, "failed event");
  assert.equal(on("plugin.outbound.chat").length, 0);
  assert.equal(on("workflow.boom.failed")[0].session_id, "s-9");
  assert.equal(stats(1).failed, 1, "a non-object payload is invalid input");
  assert.equal(stats(1).noReply, 1, "a null result is no reply");
  const warned = logs().filter((l) => l.binding === "boom-0" && l.level === 40);
  assert.deepEqual(
    warned.map((l) => l.code),
    [ErrorCodes.WORKFLOW_FAILED, ErrorCodes.WORKFLOW_INVALID_INPUT],
  );
});

test("bindings - bounded concurrency: at most `concurrency` runs, a flood waits in the bounded queue and the overflow is dropped and counted", async (t) => {
  let running = 0;
  let peak = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { publish, stats, app } = await setup(t, [{ channel: "flood", workflow: "slow", concurrency: 2, queueSize: 5, outbound: "none" }], (a) =>
    a.register("slow", async () => {
      running += 1;
      peak = Math.max(peak, running);
      await gate;
      running -= 1;
      return { done: true };
    }),
  );
  for (let i = 0; i < 50; i++) await publish("plugin.inbound.flood", { i });
  await waitFor(() => stats().running === 2, "two running");
  const dropped = stats().dropped;
  // 2 running + 1 held by the waiting handler + 5 queued are kept; the rest were dropped by the broker.
  assert.equal(dropped, 50 - 2 - 1 - 5);
  assert.equal(app.broker.stats().dropped >= dropped, true, "the broker's own counters agree");
  release();
  await waitFor(() => stats().completed === 50 - dropped, "the kept ones all ran");
  assert.equal(peak, 2, "never more than the concurrency");
  assert.equal(stats().received, 50 - dropped);
});

test("bindings - a reply that comes back (a channel echoing it) never re-triggers its binding: the chain ends", async (t) => {
  const { app, publish, on, stats, logs } = await setup(t, [{ channel: "loop", workflow: "same" }], (a) => a.register("same", (inputs) => inputs));
  // An echo channel: outbound comes back inbound with the same payload and correlation id (like examples/echo-ts).
  const echo = app.broker.subscribe("plugin.outbound.loop", (e) =>
    app.broker.publish(
      "plugin.inbound.loop",
      newEvent("plugin.inbound.loop", "echo", e.payload, { sessionId: e.session_id, ...(e.correlation_id ? { correlationId: e.correlation_id } : {}) }),
    ),
  );
  t.after(() => echo.unsubscribe());
  await publish("plugin.inbound.loop", { n: 1 });
  await waitFor(() => stats().loopsStopped === 1, "the echo of the reply stopped");
  assert.equal(stats().completed, 1, "the workflow ran once");
  assert.equal(on("plugin.outbound.loop").length, 1);
  assert.equal(on("plugin.inbound.loop").length, 2);
  assert.ok(logs().some((l) => l.binding === "same-0" && /not run again/.test(l.msg)));
  // A new conversation still runs: the guard only knows this binding's own replies.
  await publish("plugin.inbound.loop", { n: 2 });
  await waitFor(() => stats().loopsStopped === 2, "second chain ended too");
  assert.equal(stats().completed, 2);
});

test("bindings - two bindings feeding each other stop after each ran once per chain", async (t) => {
  const { publish, stats, on } = await setup(
    t,
    [
      { name: "a-to-b", inbound: "plugin.inbound.a", workflow: "same", outbound: "plugin.inbound.b" },
      { name: "b-to-a", inbound: "plugin.inbound.b", workflow: "same", outbound: "plugin.inbound.a" },
    ],
    (a) => a.register("same", (inputs) => inputs),
  );
  await publish("plugin.inbound.a", { hop: 0 });
  await waitFor(() => stats(0).loopsStopped === 1, "a-to-b saw its own chain come back");
  assert.equal(stats(0).completed, 1);
  assert.equal(stats(1).completed, 1);
  assert.equal(on("plugin.inbound.a").length, 2);
  assert.equal(on("plugin.inbound.b").length, 1);
});

test("bindings - an unknown workflow is an error at start (NEXO_ERR_BINDING_WORKFLOW_NOT_FOUND naming binding and workflow); stop waits for runs in progress", async (t) => {
  const { app } = testApp(t);
  app.register("known", () => ({}));
  const service = new BindingsService(parseBindings([{ name: "ghost", channel: "x", workflow: "missing" }]));
  assert.throws(
    () => service.checkWorkflows(app),
    (e: any) => e.code === ErrorCodes.BINDING_WORKFLOW_NOT_FOUND && /binding ghost: no workflow named "missing".*registered: known/.test(e.message),
  );
  app.addService(service);
  await assert.rejects(app.start(), (e: any) => e.cause?.code === ErrorCodes.BINDING_WORKFLOW_NOT_FOUND);

  let finish!: () => void;
  const { app: app2 } = testApp(t);
  app2.register("hold", () => new Promise((r) => (finish = () => r({ ok: 1 }))));
  const s2 = new BindingsService(parseBindings([{ channel: "h", workflow: "hold" }]));
  app2.addService(s2);
  await app2.start();
  await app2.broker.publish("plugin.inbound.h", newEvent("plugin.inbound.h", "t", {}));
  await waitFor(() => s2.stats()[0].running === 1, "running");
  let stopped = false;
  const stopping = s2.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(stopped, false, "stop waits for the run");
  finish();
  await stopping;
  assert.equal(s2.stats().length, 0);
});

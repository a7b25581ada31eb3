import assert from "node:assert/strict";
import { test } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import { newEvent } from "../../src/contract/index.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";
import { runBrokerContract } from "./broker.contract.js";

runBrokerContract("broker - local", async (t) => {
  const broker = new LocalBroker();
  t.after(() => broker.close());
  return { broker, settle: async () => undefined };
});

test("broker - local: drops are logged once per episode with the subscription's name, not per event", async (t) => {
  const cap = captureLogger();
  const broker = new LocalBroker({ logger: cap.logger });
  t.after(() => broker.close());
  broker.subscribe("f.x", undefined, { bufferSize: 2, name: "plugin:flooded" });
  for (let i = 0; i < 500; i++) await broker.publish("f.x", newEvent("f.x", "t", i));
  const lines = cap.lines().filter((l) => l.msg === "subscriber buffer full: dropping new events");
  assert.equal(lines.length, 1);
  assert.equal(lines[0].subscription, "plugin:flooded");
  assert.equal(lines[0].pattern, "f.x");
  assert.equal(broker.stats().dropped, 498);
});

test("broker - local: subscribing after a cached publish still receives later events", async (t) => {
  const broker = new LocalBroker();
  t.after(() => broker.close());
  await broker.publish("c.x", newEvent("c.x", "t", 0));
  const got: unknown[] = [];
  broker.subscribe("c.*", (e) => void got.push(e.payload));
  await broker.publish("c.x", newEvent("c.x", "t", 1));
  await waitFor(() => got.length === 1, "delivery after cache invalidation");
  assert.deepEqual(got, [1]);
});

test("broker - local: hasSubscribers follows subscribe and unsubscribe, and is false for invalid topics and after close", async () => {
  const broker = new LocalBroker();
  assert.equal(broker.hasSubscribers("workflow.a.started"), false);
  const sub = broker.subscribe("workflow.*.started");
  assert.equal(broker.hasSubscribers("workflow.a.started"), true);
  assert.equal(broker.hasSubscribers("workflow.a.completed"), false);
  assert.equal(broker.hasSubscribers("bad..topic"), false);
  sub.unsubscribe();
  assert.equal(broker.hasSubscribers("workflow.a.started"), false, "the cached match was dropped with the subscription");
  broker.subscribe(">");
  assert.equal(broker.hasSubscribers("workflow.a.started"), true);
  await broker.close();
  assert.equal(broker.hasSubscribers("workflow.a.started"), false);
});

test("broker - local: workSharing false delivers every event to every queue member, as before queue groups", async (t) => {
  const broker = new LocalBroker({ workSharing: false });
  t.after(() => broker.close());
  const a: number[] = [];
  const b: number[] = [];
  broker.subscribe("q.x", (e) => void a.push(e.payload as number), { queue: "binding:x" });
  broker.subscribe("q.x", (e) => void b.push(e.payload as number), { queue: "binding:x" });
  for (let i = 0; i < 10; i++) await broker.publish("q.x", newEvent("q.x", "t", i));
  await waitFor(() => a.length === 10 && b.length === 10, "both members got all");
  assert.equal(broker.stats().dropped, 0);
});

test("broker - local: a queue group passes an event to a member with room before dropping it at a full one", async (t) => {
  const broker = new LocalBroker();
  t.after(() => broker.close());
  // A member that never drains (an iterator nobody reads) and one that does.
  const stuck = broker.subscribe("r.x", undefined, { queue: "g", bufferSize: 2 });
  const got: number[] = [];
  broker.subscribe("r.x", (e) => void got.push(e.payload as number), { queue: "g", bufferSize: 100 });
  for (let i = 0; i < 50; i++) await broker.publish("r.x", newEvent("r.x", "t", i));
  await waitFor(() => got.length === 48, "the free member took the rest");
  assert.equal(stuck.dropped, 0);
  assert.equal(broker.stats().dropped, 0);
});

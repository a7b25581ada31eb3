import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { NatsBroker, type DurableOptions } from "../../src/broker/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { startJetStreamServer } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";

const ev = (topic: string, payload: unknown): Event => newEvent(topic, "test", payload);

/** One JetStream server for the file, restartable; brokers made by `connect` close before it stops. */
async function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), "nexo-js-"));
  const server = await startJetStreamServer(t, dir);
  if (!server) return null;
  const brokers: NatsBroker[] = [];
  t.after(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const connect = async (durable: Partial<DurableOptions> = {}): Promise<NatsBroker> => {
    const b = await NatsBroker.connect(server.url, { drainTimeoutMs: 200, durable: { patterns: ["d.>"], ackWaitMs: 1000, ...durable } });
    brokers.push(b);
    return b;
  };
  return { server, connect };
}

test("broker - nats durable: a queue group on two daemons handles each durable event once, observers see all, ack after the handler", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const a = await s.connect();
  const b = await s.connect();
  const got = new Map<number, number>();
  const perDaemon = [0, 0];
  const handler = (i: number) => async (e: Event) => {
    await new Promise((r) => setImmediate(r));
    perDaemon[i]++;
    got.set(e.payload as number, (got.get(e.payload as number) ?? 0) + 1);
  };
  a.subscribe("d.work", handler(0), { queue: "plugin:w" });
  b.subscribe("d.work", handler(1), { queue: "plugin:w" });
  const observed: number[] = [];
  b.subscribe("d.>", (e) => void observed.push(e.payload as number), { bufferSize: 1000 });
  await Promise.all([a.flush(), b.flush()]);
  await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? a : b).publish("d.work", ev("d.work", i))));
  await waitFor(() => got.size === 400 && observed.length === 400, "400 handled and observed");
  await waitFor(() => a.stats().durable!.acked + b.stats().durable!.acked === 400, "400 acked");
  assert.ok(
    [...got.values()].every((n) => n === 1),
    "no event handled twice",
  );
  assert.ok(perDaemon[0] > 0 && perDaemon[1] > 0, `both daemons worked: ${perDaemon.join("/")}`);
  assert.equal(a.stats().durable!.published + b.stats().durable!.published, 400);
  // The same event id published again (a publisher retrying) is stored once.
  const again = ev("d.work", 0);
  await a.publish("d.work", again);
  await a.publish("d.work", again);
  await waitFor(() => got.get(0) === 2, "the re-published id handled once more");
  await a.flush();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(got.get(0), 2, "the duplicate id was dropped by JetStream");
});

test("broker - nats durable: a failing handler gets the event again, up to max_deliver, then it is given up and counted", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const a = await s.connect({ maxDeliver: 3 });
  const tries = new Map<number, number>();
  a.subscribe(
    "d.flaky",
    (e) => {
      const n = (tries.get(e.payload as number) ?? 0) + 1;
      tries.set(e.payload as number, n);
      // Event 1 fails once then works; event 2 always fails.
      if ((e.payload === 1 && n === 1) || e.payload === 2) throw new Error("handler failed");
    },
    { queue: "binding:flaky" },
  );
  await a.flush();
  await a.publish("d.flaky", ev("d.flaky", 1));
  await a.publish("d.flaky", ev("d.flaky", 2));
  await waitFor(() => a.stats().durable!.exhausted === 1 && a.stats().durable!.acked === 1, "event 1 acked, event 2 given up", 15_000);
  assert.equal(tries.get(1), 2);
  assert.equal(tries.get(2), 3, "delivered max_deliver times, no more");
  assert.ok(a.stats().durable!.redelivered >= 3);
});

test("broker - nats durable: events held by a daemon that dies unacknowledged go to another member of the group", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const a = await s.connect({ prefetch: 8 });
  const b = await s.connect({ prefetch: 8 });
  const handledByB: number[] = [];
  let aTook = 0;
  // A takes events and never finishes them, as a daemon that hangs or dies mid-event.
  a.subscribe(
    "d.die",
    () => {
      aTook++;
      return new Promise<void>(() => undefined);
    },
    { queue: "plugin:die" },
  );
  await a.flush();
  for (let i = 0; i < 20; i++) await a.publish("d.die", ev("d.die", i));
  await waitFor(() => aTook === 1, "A holds an event");
  await a.connection.close();
  b.subscribe("d.die", (e) => void handledByB.push(e.payload as number), { queue: "plugin:die" });
  await waitFor(() => new Set(handledByB).size === 20, "B got all 20 after A died", 15_000);
});

test("broker - nats durable: through a NATS outage a durable publish waits and lands, at-most-once ones are counted as unsent, a long one fails loudly", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const a = await s.connect({ publishTimeoutMs: 8000, publishBuffer: 50 });
  const got = new Set<number>();
  const core: number[] = [];
  a.subscribe("d.out", (e) => void got.add(e.payload as number), { queue: "plugin:out" });
  a.subscribe("c.out", (e) => void core.push(e.payload as number));
  await a.flush();
  await s.server.stop();
  await waitFor(() => !a.isConnected, "the client saw the outage");
  const waiting = Array.from({ length: 40 }, (_, i) => a.publish("d.out", ev("d.out", i)));
  for (let i = 0; i < 7; i++) await a.publish("c.out", ev("c.out", i));
  assert.equal(a.stats().unsent, 7, "at-most-once events sent into an outage are counted");
  // Past the buffer a durable publish is refused at once, never a silent success.
  const over = Array.from({ length: 11 }, (_, i) => a.publish("d.out", ev("d.out", 100 + i)));
  await assert.rejects(over[10], (e) => isNexoError(e, ErrorCodes.BROKER_PUBLISH_FAILED));
  assert.equal(a.stats().durable!.pending, 50);
  await s.server.start();
  const settled = await Promise.allSettled([...waiting, ...over.slice(0, 10)]);
  assert.deepEqual(
    settled.map((r) => r.status),
    Array(50).fill("fulfilled"),
    "every waiting durable publish landed",
  );
  await waitFor(() => [...Array(40).keys()].every((i) => got.has(i)), "the 40 waiting events delivered after the restart", 15_000);

  // An outage longer than the publish timeout: the publisher is told.
  const short = await s.connect({ publishTimeoutMs: 300 });
  await s.server.stop();
  await waitFor(() => !short.isConnected, "outage seen");
  await assert.rejects(short.publish("d.out", ev("d.out", 999)), (e) => isNexoError(e, ErrorCodes.BROKER_PUBLISH_FAILED));
  assert.equal(short.stats().durable!.publishFailed, 1);
  await s.server.start();
});

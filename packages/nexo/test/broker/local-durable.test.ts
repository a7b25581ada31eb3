import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createBroker, LocalBroker, type Broker } from "../../src/broker/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { createStore } from "../../src/store/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { waitFor } from "../helpers/wait.js";

const ev = (topic: string, payload: unknown): Event => newEvent(topic, "test", payload);
const durable = { patterns: ["d.>"], maxDeliver: 3 };

test("broker - local durable: an event kept in the store survives a restart that came before its handler finished; others are forgotten", async (t) => {
  const store = `sqlite:${join(tempDir(t), "nexo.db")}`;
  const first = (await createBroker("local", { durable, store })) as LocalBroker;
  let release: () => void = () => undefined;
  const handledFirst: number[] = [];
  // Handles event 0, then hangs on event 1 as a daemon that is killed mid-event.
  first.subscribe(
    "d.work",
    (e) => {
      handledFirst.push(e.payload as number);
      if (e.payload === 1) return new Promise<void>((r) => (release = r));
    },
    { queue: "plugin:w" },
  );
  const observed: number[] = [];
  first.subscribe("d.>", (e) => void observed.push(e.payload as number));
  for (let i = 0; i < 5; i++) await first.publish("d.work", ev("d.work", i));
  await waitFor(() => handledFirst.length === 2 && observed.length === 5, "event 0 handled, event 1 in progress, all observed");
  await waitFor(() => first.stats().durable!.acked === 1, "event 0 forgotten");
  // Not durable: nothing kept (no group on this topic).
  await first.publish("x.y", ev("x.y", 9));
  await first.close();
  release();

  const second = (await createBroker("local", { durable, store })) as LocalBroker;
  t.after(() => second.close());
  const handledSecond: number[] = [];
  second.subscribe("d.work", (e) => void handledSecond.push(e.payload as number), { queue: "plugin:w" });
  await waitFor(() => handledSecond.length === 4, "the four unhandled events delivered after the restart");
  assert.deepEqual(handledSecond, [1, 2, 3, 4], "in publish order, event 0 not again");
  await waitFor(() => second.stats().durable!.acked === 4, "all forgotten");
  const s = await createStore(store);
  t.after(() => s.close());
  assert.deepEqual(await s.query("SELECT id FROM nexo_durable_events"), []);
});

test("broker - local durable: a failing handler gets the event again up to max_deliver; a publish the store refuses fails loudly", async (t) => {
  const store = `sqlite:${join(tempDir(t), "nexo.db")}`;
  const broker: Broker = await createBroker("local", { durable: { ...durable }, store });
  const tries = new Map<number, number>();
  broker.subscribe(
    "d.flaky",
    (e) => {
      const n = (tries.get(e.payload as number) ?? 0) + 1;
      tries.set(e.payload as number, n);
      if ((e.payload === 1 && n === 1) || e.payload === 2) throw new Error("handler failed");
    },
    { queue: "binding:flaky" },
  );
  await broker.publish("d.flaky", ev("d.flaky", 1));
  await broker.publish("d.flaky", ev("d.flaky", 2));
  await waitFor(() => broker.stats().durable!.exhausted === 1 && broker.stats().durable!.acked === 1, "1 handled on its second try, 2 given up");
  assert.equal(tries.get(1), 2);
  assert.equal(tries.get(2), 3, "max_deliver deliveries, no more");
  await broker.close();
  // Closed store under a live broker: the durable publish rejects instead of succeeding silently.
  const s = await createStore(store);
  const { LocalDurable } = await import("../../src/broker/index.js");
  const kept = await LocalDurable.open(s, durable);
  const b2 = new LocalBroker({ durable: kept });
  b2.subscribe("d.flaky", () => undefined, { queue: "binding:flaky" });
  await s.close();
  await assert.rejects(b2.publish("d.flaky", ev("d.flaky", 3)), (e) => isNexoError(e, ErrorCodes.BROKER_PUBLISH_FAILED));
  await b2.close();
});

test("broker - local durable: nexo.yaml cluster.durable reaches the daemon's local broker, kept in the daemon's store", async (t) => {
  const dir = tempDir(t);
  const { Daemon } = await import("../../src/daemon/index.js");
  const { normalizeConfig } = await import("../../src/config/index.js");
  const { captureLogger } = await import("../helpers/log-capture.js");
  const daemon = await Daemon.start(normalizeConfig({ state_dir: join(dir, "state"), api: { enabled: false }, cluster: { durable: { patterns: ["d.>"] } } }, null, dir), {
    logger: captureLogger().logger,
    controlSocket: false,
  });
  t.after(() => daemon.stop());
  const got: number[] = [];
  daemon.broker.subscribe("d.x", (e) => void got.push(e.payload as number), { queue: "binding:x" });
  await daemon.broker.publish("d.x", ev("d.x", 7));
  await waitFor(() => got.length === 1 && daemon.broker.stats().durable?.acked === 1, "kept, delivered, forgotten");
  assert.equal(daemon.broker.stats().durable!.published, 1);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Broker } from "../../src/broker/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The behaviour every Broker implementation must have. `make` returns a fresh
 * broker (or null to skip) and `settle` waits until published events are visible.
 */
export function runBrokerContract(name: string, make: (t: import("node:test").TestContext) => Promise<{ broker: Broker; settle: () => Promise<void> } | null>): void {
  const ev = (topic: string, payload: unknown): Event => newEvent(topic, "test", payload);

  test(`${name} - hasSubscribers is true while a subscriber matches and false once the broker is closed`, async (t) => {
    const b = await make(t);
    if (!b) return;
    b.broker.subscribe("probe.>", () => undefined);
    await b.settle();
    assert.equal(b.broker.hasSubscribers("probe.x"), true);
    await b.broker.close();
    assert.equal(b.broker.hasSubscribers("probe.x"), false);
  });

  test(`${name} - fans out to every matching pattern and not to others`, async (t) => {
    const b = await make(t);
    if (!b) return;
    const got: Record<string, string[]> = { exact: [], star: [], tail: [], other: [] };
    b.broker.subscribe("a.b.c", (e) => void got.exact.push(e.topic));
    b.broker.subscribe("a.*.c", (e) => void got.star.push(e.topic));
    b.broker.subscribe("a.>", (e) => void got.tail.push(e.topic));
    b.broker.subscribe("x.>", (e) => void got.other.push(e.topic));
    await b.settle();
    await b.broker.publish("a.b.c", ev("a.b.c", 1));
    await b.broker.publish("a.z.c", ev("a.z.c", 2));
    await b.broker.publish("a.b", ev("a.b", 3));
    await waitFor(() => got.tail.length === 3, "deliveries");
    assert.deepEqual(got.exact, ["a.b.c"]);
    assert.deepEqual(got.star, ["a.b.c", "a.z.c"]);
    assert.deepEqual(got.tail, ["a.b.c", "a.z.c", "a.b"]);
    assert.deepEqual(got.other, []);
  });

  test(`${name} - keeps per-subscriber order over 1,000 events, with a slow async handler too`, async (t) => {
    const b = await make(t);
    if (!b) return;
    const fast: number[] = [];
    const slow: number[] = [];
    b.broker.subscribe("o.>", (e) => void fast.push(e.payload as number), { bufferSize: 2000 });
    b.broker.subscribe(
      "o.>",
      async (e) => {
        if ((e.payload as number) % 100 === 0) await new Promise((r) => setTimeout(r, 1));
        slow.push(e.payload as number);
      },
      { bufferSize: 2000 },
    );
    await b.settle();
    for (let i = 0; i < 1000; i++) await b.broker.publish(`o.${i % 7}`, ev(`o.${i % 7}`, i));
    await waitFor(() => slow.length === 1000 && fast.length === 1000, "all 1000", 20_000);
    const expected = Array.from({ length: 1000 }, (_, i) => i);
    assert.deepEqual(fast, expected);
    assert.deepEqual(slow, expected);
  });

  test(`${name} - async iteration; break unsubscribes; close ends iterators`, async (t) => {
    const b = await make(t);
    if (!b) return;
    const sub = b.broker.subscribe("it.>");
    const other = b.broker.subscribe("it2.>");
    await b.settle();
    for (let i = 0; i < 5; i++) await b.broker.publish("it.x", ev("it.x", i));
    const seen: number[] = [];
    for await (const e of sub) {
      seen.push(e.payload as number);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, [0, 1, 2]);
    const before = b.broker.stats().subscriptions;
    assert.equal(before, 1, "break unsubscribed");
    const ended = (async () => {
      const out: unknown[] = [];
      for await (const e of other) out.push(e.payload);
      return out;
    })();
    await b.broker.close();
    assert.deepEqual(await ended, []);
    await assert.rejects(b.broker.publish("it.x", ev("it.x", 9)), (e) => isNexoError(e, ErrorCodes.BROKER_CLOSED));
  });

  test(`${name} - a queue group gets each event once, across overlapping patterns, while observers get every event`, async (t) => {
    const b = await make(t);
    if (!b) return;
    const workers: number[][] = [[], [], []];
    const observed: number[] = [];
    // Two members on one pattern, a third on an overlapping one: one delivery per event for the whole group.
    b.broker.subscribe("w.>", (e) => void workers[0].push(e.payload as number), { queue: "plugin:echo", bufferSize: 1000 });
    b.broker.subscribe("w.>", (e) => void workers[1].push(e.payload as number), { queue: "plugin:echo", bufferSize: 1000 });
    b.broker.subscribe("w.*", (e) => void workers[2].push(e.payload as number), { queue: "plugin:echo", bufferSize: 1000 });
    b.broker.subscribe("w.>", (e) => void observed.push(e.payload as number), { bufferSize: 1000 });
    await b.settle();
    for (let i = 0; i < 300; i++) await b.broker.publish("w.x", ev("w.x", i));
    await waitFor(() => observed.length === 300 && workers.flat().length >= 300, "300 to the observer and the group");
    await b.settle();
    const all = workers.flat().sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: 300 }, (_, i) => i),
      "each event exactly once in the group",
    );
    assert.ok(workers.filter((w) => w.length > 0).length >= 2, `the work is shared: ${workers.map((w) => w.length).join("/")}`);
    assert.deepEqual(
      observed,
      Array.from({ length: 300 }, (_, i) => i),
    );
    assert.throws(
      () => b.broker.subscribe("w.>", () => undefined, { queue: "bad queue" }),
      (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_PATTERN),
    );
  });

  test(`${name} - unsubscribe stops delivery`, async (t) => {
    const b = await make(t);
    if (!b) return;
    const got: unknown[] = [];
    const s = b.broker.subscribe("u.x", (e) => void got.push(e.payload));
    await b.settle();
    await b.broker.publish("u.x", ev("u.x", 1));
    await waitFor(() => got.length === 1, "first");
    s.unsubscribe();
    s.unsubscribe();
    await b.broker.publish("u.x", ev("u.x", 2));
    await b.settle();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, [1]);
  });

  test(`${name} - a full buffer drops new events and counts them`, async (t) => {
    const b = await make(t);
    if (!b) return;
    const sub = b.broker.subscribe("d.x", undefined, { bufferSize: 10, name: "slowpoke" });
    await b.settle();
    for (let i = 0; i < 25; i++) await b.broker.publish("d.x", ev("d.x", i));
    await waitFor(() => sub.dropped === 15, "15 drops");
    const got: number[] = [];
    for await (const e of sub) {
      got.push(e.payload as number);
      if (got.length === 10) break;
    }
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "the oldest 10 are kept: new events are the ones dropped");
    assert.ok(b.broker.stats().dropped >= 15);
  });

  test(`${name} - a throwing handler does not affect other subscribers or later events`, async (t) => {
    const b = await make(t);
    if (!b) return;
    const good: unknown[] = [];
    const bad: unknown[] = [];
    b.broker.subscribe("h.x", (e) => {
      bad.push(e.payload);
      throw new Error("handler bug");
    });
    b.broker.subscribe("h.x", async (e) => {
      good.push(e.payload);
    });
    await b.settle();
    await b.broker.publish("h.x", ev("h.x", 1));
    await b.broker.publish("h.x", ev("h.x", 2));
    await waitFor(() => good.length === 2 && bad.length === 2, "both subscribers see both events");
  });

  test(`${name} - invalid topics and patterns are refused`, async (t) => {
    const b = await make(t);
    if (!b) return;
    await assert.rejects(b.broker.publish("a..b", ev("a..b", 1)), (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_TOPIC));
    assert.throws(
      () => b.broker.subscribe("a.>.b"),
      (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_PATTERN),
    );
  });
}

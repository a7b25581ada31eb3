import assert from "node:assert/strict";
import { test } from "node:test";
import { Limiter } from "../../src/util/index.js";

test("limiter - with one slot, run() is a FIFO lock: each call starts after the previous settles, a failure included", { timeout: 10_000 }, async () => {
  const lock = new Limiter(1);
  const order: string[] = [];
  let release!: () => void;
  const first = lock.run(async () => {
    order.push("a start");
    await new Promise<void>((r) => (release = r));
    order.push("a end");
    throw new Error("a failed");
  });
  const second = lock.run(() => order.push("b"));
  const third = lock.run(() => order.push("c"));
  await Promise.resolve();
  assert.deepEqual(order, ["a start"], "b and c wait while a holds the slot");
  assert.equal(lock.queued, 2);
  release();
  await assert.rejects(first, /a failed/);
  await Promise.all([second, third]);
  assert.deepEqual(order, ["a start", "a end", "b", "c"]);
  assert.equal(lock.inFlight, 0, "every slot was given back");
});

test("limiter - run() with a bounded wait gives up at its deadline and never runs the function", async () => {
  const l = new Limiter(1, 10);
  let release!: () => void;
  const holder = l.run(() => new Promise<void>((r) => (release = r)));
  let ran = false;
  await assert.rejects(
    l.run(() => (ran = true), 20),
    (why) => why === "timeout",
  );
  assert.equal(ran, false);
  release();
  await holder;
  assert.equal(await l.run(() => "free again"), "free again");
});

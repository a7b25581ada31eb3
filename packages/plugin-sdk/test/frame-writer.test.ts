import assert from "node:assert/strict";
import { test } from "node:test";
import { NdjsonWriter } from "../src/frame-writer.js";

/** A writer over an in-memory sink; `full` makes the next writes report a full pipe. */
function sink() {
  const writes: string[] = [];
  let drain: (() => void) | undefined;
  const state = { full: false };
  const writer = new NdjsonWriter(
    {
      write: (data) => {
        writes.push(data);
        return !state.full;
      },
      once: (event, fn) => {
        if (event === "drain") drain = fn;
      },
    },
    { maxFrameBytes: 1024, maxDroppableQueue: 8 },
  );
  const frames = () =>
    writes
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { n: number });
  return { writer, writes, frames, state, drain: () => drain?.() };
}

const turn = () => new Promise((r) => setImmediate(r));

test("sdk writer - frames sent in one tick share a write, in order", async () => {
  const { writer, writes, frames } = sink();
  for (let n = 0; n < 5; n++) void writer.send({ n });
  await turn();
  assert.equal(writes.length, 1);
  assert.deepEqual(
    frames().map((f) => f.n),
    [0, 1, 2, 3, 4],
  );
});

test("sdk writer - while holdWhile is true, frames wait to share writes of at most 32; release() and the end of the turn write the rest", async () => {
  const { writer, writes, frames } = sink();
  let burst = true;
  writer.holdWhile = () => burst;
  // Frames sent one microtask apart, as a chain of event handlers does.
  for (let n = 0; n < 70; n++) {
    await writer.send({ n });
  }
  assert.equal(writes.length, 2, "two full batches of 32 written, 6 frames held");
  burst = false;
  writer.release();
  assert.equal(writes.length, 3);
  assert.deepEqual(
    frames().map((f) => f.n),
    Array.from({ length: 70 }, (_, i) => i),
  );
  // A burst that stalls (a handler awaiting I/O) still writes at the end of the turn.
  burst = true;
  void writer.send({ n: 70 });
  await Promise.resolve();
  assert.equal(writes.length, 3, "held");
  await turn();
  assert.equal(writes.length, 4, "written at the end of the event-loop turn without a release");
  assert.equal(frames().at(-1)!.n, 70);
});

test("sdk writer - under backpressure a send resolves only once written, and droppable frames past the limit are refused", async () => {
  const { writer, writes, state, drain } = sink();
  state.full = true;
  await writer.send({ n: 0 }); // accepted at once: the pipe has not reported full yet
  await turn();
  assert.equal(writes.length, 1, "written; the pipe is now full");
  let second = false;
  const p = writer.send({ n: 1 }).then(() => (second = true));
  for (let n = 2; n < 9; n++) void writer.send({ n }, true);
  await assert.rejects(writer.send({ n: 99 }, true), /backlog full/);
  await turn();
  assert.equal(second, false, "waits for drain");
  state.full = false;
  drain();
  await p;
  assert.equal(second, true);
  await writer.idle();
  const all = writes
    .join("")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { n: number }).n);
  assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { exceedsDepth, MAX_FRAME_DEPTH, NdjsonDecoder, NdjsonWriter } from "../../src/contract/index.js";
import { LogThrottle } from "../../src/host/log-throttle.js";
import { RpcPeer, type RpcPeerOptions } from "../../src/host/rpc-peer.js";
import { waitFor } from "../helpers/wait.js";

const nest = (d: number) => JSON.parse("[".repeat(d) + "]".repeat(d)) as unknown;

test("host - exceedsDepth: the envelope is level 1; 128 levels pass, 129 do not, 1e5 is refused without a stack overflow", () => {
  assert.equal(MAX_FRAME_DEPTH, 128);
  assert.equal(exceedsDepth(nest(128), 128), false);
  assert.equal(exceedsDepth(nest(129), 128), true);
  assert.equal(exceedsDepth({ a: [{ b: nest(126) }] }, 128), true);
  assert.equal(exceedsDepth({ a: [{ b: nest(125) }] }, 128), false);
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.equal(exceedsDepth(JSON.parse(deep), 128, Buffer.from(deep)), true);
  // Brackets inside strings are not nesting: the raw pre-check only decides when there are too few.
  const text = JSON.stringify({ s: "[".repeat(500) });
  assert.equal(exceedsDepth(JSON.parse(text), 128, Buffer.from(text)), false);
});

test("host - decoder: a handler that throws is reported as a fault and the next lines are still decoded", () => {
  const frames: unknown[] = [];
  const faults: unknown[] = [];
  const d = new NdjsonDecoder({
    onFrame: (v) => {
      if ((v as { boom?: boolean }).boom) throw new RangeError("Maximum call stack size exceeded");
      frames.push(v);
    },
    onProblem: () => {
      throw new Error("problem handler failed");
    },
    onFault: (err) => faults.push(err),
  });
  d.push(Buffer.from('{"n":1}\n{"boom":true}\nnot json\n{"n":2}\n'));
  assert.deepEqual(frames, [{ n: 1 }, { n: 2 }]);
  assert.equal(faults.length, 2);
});

test("host - writer: pendingChars follows what is queued and drops to zero once flushed", async () => {
  const chunks: string[] = [];
  let release: (() => void) | undefined;
  const out = new Writable({
    highWaterMark: 1,
    write(c, _e, cb) {
      chunks.push(c.toString());
      release = cb;
    },
  });
  const w = new NdjsonWriter(out);
  const writes = [w.write({ a: 1 }), w.write({ b: "xx" })];
  assert.equal(w.pendingChars, '{"a":1}\n'.length + '{"b":"xx"}\n'.length);
  await new Promise((r) => setImmediate(r));
  assert.equal(w.pendingChars, 0, "handed to the stream in one batch");
  release?.();
  await Promise.all(writes);
});

test("host - log throttle: a burst, then one line per refill interval, each saying how many it stands for", () => {
  let now = 0;
  const th = new LogThrottle({ burst: 3, refillMs: 1000, now: () => now });
  const logged = [];
  for (let i = 0; i < 100; i++) {
    const line = th.take("denied");
    if (line) logged.push(line);
  }
  assert.deepEqual(logged, [
    { count: 1, suppressed: 0 },
    { count: 2, suppressed: 0 },
    { count: 3, suppressed: 0 },
  ]);
  now = 1000;
  assert.deepEqual(th.take("denied"), { count: 101, suppressed: 97 });
  assert.equal(th.take("denied"), undefined);
  assert.deepEqual(th.take("other"), { count: 1, suppressed: 0 }, "per reason");
});

function peer(overrides: Partial<RpcPeerOptions> = {}) {
  const fromPlugin = new PassThrough();
  const toPlugin = new PassThrough({ highWaterMark: 16 });
  const calls = { stalled: [] as Array<{ frames: number; chars: number }>, faults: [] as unknown[], problems: [] as string[] };
  const p = new RpcPeer({
    pluginId: "p",
    input: fromPlugin,
    output: toPlugin,
    onRequest: () => ({ ok: true }),
    onNotification: () => undefined,
    onProblem: (problem) => void calls.problems.push(problem.kind),
    onFault: (err) => void calls.faults.push(err),
    onStalled: (q) => void calls.stalled.push(q),
    ...overrides,
  });
  return { p, fromPlugin, toPlugin, calls };
}

test("host - rpc peer: replies to a plugin that never reads stop at the queue bound, reported once", async () => {
  const { p, fromPlugin, calls } = peer({ replyQueueDepth: 50 });
  let lines = "";
  for (let i = 1; i <= 5000; i++) lines += `{"jsonrpc":"2.0","id":${i},"method":"x"}\n`;
  fromPlugin.write(lines);
  await waitFor(() => calls.stalled.length === 1, "the stall reported");
  await new Promise((r) => setImmediate(r));
  assert.equal(calls.stalled.length, 1);
  assert.ok(p.queued <= 50, `${p.queued} frames queued`);
  assert.ok(p.repliesDropped > 4000);
  p.close(new Error("done"));
});

test("host - rpc peer: an unknown reply nested 1e5 deep is a bad frame, previewed from the raw line; the next request is answered", async () => {
  const { p, fromPlugin, toPlugin, calls } = peer();
  const out: string[] = [];
  toPlugin.on("data", (c) => out.push(c.toString()));
  fromPlugin.write(
    `{"jsonrpc":"2.0","id":99,"result":${"[".repeat(100_000)}${"]".repeat(100_000)}}\n{"jsonrpc":"2.0","id":98,"result":[1]}\n{"jsonrpc":"2.0","id":1,"method":"x"}\n`,
  );
  await waitFor(() => out.join("").includes('"id":1,'), "the reply to the request");
  assert.deepEqual(calls.problems, ["too_deep", "unknown_response"]);
  assert.deepEqual(calls.faults, []);
  p.close(new Error("done"));
});

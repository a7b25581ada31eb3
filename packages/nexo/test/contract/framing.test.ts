import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { MAX_FRAME_BYTES, NdjsonDecoder, NdjsonWriter, readFrames, type FrameProblem } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";

function decoder(max?: number) {
  const frames: unknown[] = [];
  const problems: FrameProblem[] = [];
  const d = new NdjsonDecoder({ onFrame: (v) => frames.push(v), onProblem: (p) => problems.push(p) }, max ? { maxFrameBytes: max } : {});
  return { d, frames, problems };
}

test("contract - decoder joins a frame split into 1-byte chunks", () => {
  const { d, frames } = decoder();
  for (const byte of Buffer.from('{"a":1,"s":"héllo 🌍"}\n')) d.push(Buffer.from([byte]));
  assert.deepEqual(frames, [{ a: 1, s: "héllo 🌍" }]);
});

test("contract - decoder splits many frames in one chunk, handles CRLF and ignores blank lines", () => {
  const { d, frames, problems } = decoder();
  d.push(Buffer.from('{"n":1}\r\n\n   \n{"n":2}\n\r\n{"n":3}\n{"n"'));
  d.push(Buffer.from(":4}\n"));
  assert.deepEqual(frames, [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  assert.deepEqual(problems, []);
});

test("contract - decoder reports invalid UTF-8 and non-JSON lines and keeps reading", () => {
  const { d, frames, problems } = decoder();
  d.push(Buffer.concat([Buffer.from([0xff, 0xfe, 0x7b]), Buffer.from('\nnot json\n{"ok":true}\n')]));
  assert.deepEqual(frames, [{ ok: true }]);
  assert.deepEqual(
    problems.map((p) => p.kind),
    ["invalid_utf8", "invalid_json"],
  );
  assert.equal(problems[1].preview, "not json");
});

test("contract - decoder drops a line over the limit without buffering it, then decodes the next frame", () => {
  const max = 1024;
  const { d, frames, problems } = decoder(max);
  d.push(Buffer.from('{"big":"'));
  let maxHeld = 0;
  for (let i = 0; i < 100; i++) {
    d.push(Buffer.alloc(512, 0x61));
    maxHeld = Math.max(maxHeld, d.bufferedBytes);
  }
  d.push(Buffer.from('"}\n{"next":1}\n'));
  assert.ok(maxHeld <= max + 1, `held at most the limit (${maxHeld})`);
  assert.deepEqual(frames, [{ next: 1 }]);
  assert.equal(problems.length, 1, "reported once");
  assert.equal(problems[0].kind, "too_large");
});

test("contract - a frame of exactly MAX_FRAME_BYTES passes; one byte more does not", () => {
  const { d, frames, problems } = decoder();
  const exact = `"${"x".repeat(MAX_FRAME_BYTES - 2)}"`;
  assert.equal(Buffer.byteLength(exact), MAX_FRAME_BYTES);
  d.push(Buffer.from(`${exact}\r\n`));
  d.push(Buffer.from(`"${"x".repeat(MAX_FRAME_BYTES - 1)}"\n`));
  assert.equal(frames.length, 1);
  assert.deepEqual(
    problems.map((p) => p.kind),
    ["too_large"],
  );
});

test("contract - a multibyte character split across chunks survives", () => {
  const { d, frames } = decoder();
  const bytes = Buffer.from('{"t":"日本語 ✓ 😀"}\n');
  d.push(bytes.subarray(0, 10));
  d.push(bytes.subarray(10, 13));
  d.push(bytes.subarray(13));
  assert.deepEqual(frames, [{ t: "日本語 ✓ 😀" }]);
});

test("contract - end() flushes a final unterminated frame; readFrames reports end once", async () => {
  const s = new PassThrough();
  const frames: unknown[] = [];
  let ends = 0;
  readFrames(s, { onFrame: (v) => frames.push(v), onProblem: () => undefined, onEnd: () => ends++ });
  s.write('{"a":1}\n{"b":2}');
  s.end();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(frames, [{ a: 1 }, { b: 2 }]);
  assert.equal(ends, 1);
});

test("contract - writer: 10,000 concurrent writes come out whole and in call order", async () => {
  const s = new PassThrough();
  const w = new NdjsonWriter(s);
  const chunks: Buffer[] = [];
  s.on("data", (c) => chunks.push(c));
  await Promise.all(Array.from({ length: 10_000 }, (_, i) => w.write({ i, pad: "é".repeat(i % 50) })));
  const lines = Buffer.concat(chunks).toString("utf8").split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, 10_000);
  lines.forEach((l, i) => assert.equal(JSON.parse(l).i, i));
});

test("contract - writer waits for drain under backpressure, keeps memory to what callers queued, loses nothing", async () => {
  let received = "";
  let maxStreamBuffer = 0;
  const slow: Writable = new Writable({
    highWaterMark: 1024,
    write(chunk, _enc, cb) {
      received += chunk.toString();
      maxStreamBuffer = Math.max(maxStreamBuffer, slow.writableLength);
      setTimeout(cb, 1);
    },
  });
  const w = new NdjsonWriter(slow);
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 2000; i++) writes.push(w.write({ i, data: "x".repeat(100) }));
  assert.equal(w.pending, 2000, "held by the writer until the stream takes them");
  await Promise.all(writes);
  await new Promise<void>((r) => slow.end(r));
  assert.equal(received.split("\n").filter(Boolean).length, 2000);
  // The stream never holds more than its high-water mark plus one 64 KiB batch: the writer waited for drain.
  assert.ok(maxStreamBuffer <= 1024 + 64 * 1024 + 200, `stream buffer peaked at ${maxStreamBuffer}`);
  assert.ok(maxStreamBuffer > 0);
});

test("contract - writer rejects oversize frames and everything after close or a stream error", async () => {
  const s = new PassThrough();
  const w = new NdjsonWriter(s, { maxFrameBytes: 100 });
  await assert.rejects(w.write({ x: "y".repeat(200) }), (e) => isNexoError(e, ErrorCodes.CONTRACT_FRAME_TOO_LARGE));
  const pending = w.write({ ok: 1 });
  w.close();
  await assert.rejects(pending, (e) => isNexoError(e, ErrorCodes.CONTRACT_WRITER_CLOSED));
  await assert.rejects(w.write({ ok: 2 }), (e) => isNexoError(e, ErrorCodes.CONTRACT_WRITER_CLOSED));
  const s2 = new PassThrough();
  const w2 = new NdjsonWriter(s2);
  s2.destroy(new Error("EPIPE"));
  await new Promise((r) => setImmediate(r));
  await assert.rejects(w2.write({ a: 1 }), (e) => isNexoError(e, ErrorCodes.CONTRACT_WRITER_CLOSED));
});

test("contract - writer.post: no promise, same order as write, throws what write rejects with", async () => {
  const s = new PassThrough();
  let out = "";
  s.on("data", (d) => (out += d));
  const w = new NdjsonWriter(s, { maxFrameBytes: 100 });
  w.post({ n: 1 });
  const second = w.write({ n: 2 });
  w.post({ n: 3 });
  await second;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).n),
    [1, 2, 3],
  );
  assert.throws(
    () => w.post({ x: "y".repeat(200) }),
    (e) => isNexoError(e, ErrorCodes.CONTRACT_FRAME_TOO_LARGE),
  );
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(
    () => w.post(cyclic),
    (e) => isNexoError(e, ErrorCodes.CONTRACT_INVALID_FRAME),
  );
  w.close();
  assert.throws(
    () => w.post({ n: 4 }),
    (e) => isNexoError(e, ErrorCodes.CONTRACT_WRITER_CLOSED),
  );
});

// The one NDJSON reader and writer both ends of the wire use (`nexo-plugin-sdk/contract`).
import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import {
  exceedsDepth,
  FrameTooLargeError,
  MAX_FRAME_BYTES,
  MAX_FRAME_DEPTH,
  NdjsonDecoder,
  NdjsonWriter,
  readFrames,
  type FrameProblem,
  type NdjsonDecoderOptions,
} from "../src/contract.js";

function decoder(options: NdjsonDecoderOptions = {}) {
  const frames: unknown[] = [];
  const problems: FrameProblem[] = [];
  const d = new NdjsonDecoder({ onFrame: (v) => frames.push(v), onProblem: (p) => problems.push(p) }, options);
  return { d, frames, problems };
}

test("sdk framing - frames split across chunks at every byte, multi-byte UTF-8 included, decode whole", () => {
  const text = '{"a":1,"s":"héllo 日本語 🌍"}\n{"b":"✓"}\n';
  const bytes = Buffer.from(text);
  // Every split point, so each multi-byte character is cut in every place once.
  for (let cut = 1; cut < bytes.length; cut++) {
    const { d, frames, problems } = decoder();
    d.push(bytes.subarray(0, cut));
    d.push(bytes.subarray(cut));
    assert.deepEqual(frames, [{ a: 1, s: "héllo 日本語 🌍" }, { b: "✓" }], `cut at ${cut}`);
    assert.deepEqual(problems, []);
  }
  const { d, frames } = decoder();
  for (const byte of bytes) d.push(Buffer.from([byte]));
  assert.equal(frames.length, 2);
});

test("sdk framing - CRLF, a CR split from its LF, blank and whitespace-only lines; an unterminated last line at end()", () => {
  const frames: unknown[] = [];
  const raws: string[] = [];
  const problems: FrameProblem[] = [];
  const d = new NdjsonDecoder({
    onFrame: (v, raw) => {
      frames.push(v);
      raws.push(raw.toString("utf8"));
    },
    onProblem: (p) => problems.push(p),
  });
  d.push(Buffer.from('{"n":1}\r\n\n   \n{"n":2}\r'));
  d.push(Buffer.from('\n\r\n{"n":3}\n{"n"'));
  d.push(Buffer.from(":4}"));
  assert.deepEqual(frames, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  d.end();
  assert.deepEqual(frames, [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  assert.deepEqual(raws, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'], "the raw line a frame came from carries no CR");
  assert.deepEqual(problems, []);
});

test("sdk framing - invalid UTF-8 and non-JSON lines are reported with a reason and reading goes on", () => {
  const { d, frames, problems } = decoder();
  d.push(Buffer.concat([Buffer.from([0xff, 0xfe, 0x7b]), Buffer.from('\n{not json\n{"ok":true}\n')]));
  assert.deepEqual(frames, [{ ok: true }]);
  assert.deepEqual(
    problems.map((p) => [p.kind, p.bytes]),
    [
      ["invalid_utf8", 3],
      ["invalid_json", 9],
    ],
  );
  assert.equal(problems[1].preview, "{not json");
  assert.match(problems[1].reason, /JSON/);
});

test("sdk framing - a frame of exactly the limit passes (with or without CR); one byte more is too large", () => {
  const { d, frames, problems } = decoder();
  const exact = `"${"x".repeat(MAX_FRAME_BYTES - 2)}"`;
  d.push(Buffer.from(`${exact}\r\n${exact}\n`));
  d.push(Buffer.from(`"${"x".repeat(MAX_FRAME_BYTES - 1)}"\n`));
  assert.equal(frames.length, 2);
  assert.deepEqual(
    problems.map((p) => p.kind),
    ["too_large"],
  );
});

/** 100 chunks of 512 bytes of one line, then its end and a good frame; the most the decoder held meanwhile. */
function feedLongLine(d: NdjsonDecoder): number {
  let held = 0;
  d.push(Buffer.from('{"big":"'));
  for (let i = 0; i < 100; i++) {
    d.push(Buffer.alloc(512, 0x61));
    held = Math.max(held, d.bufferedBytes);
  }
  d.push(Buffer.from('"}\n{"next":1}\n'));
  return held;
}

test("sdk framing - an over-long line is never buffered past the limit: reported once as soon as it outgrows it (the default), then the next frame decodes", () => {
  const { d, frames, problems } = decoder({ maxFrameBytes: 1024 });
  d.push(Buffer.from('{"big":"'));
  d.push(Buffer.alloc(2048, 0x61));
  assert.equal(problems.length, 1, "reported before any newline arrived");
  assert.equal(problems[0].bytes, 8 + 2048);
  assert.equal(problems[0].preview, `{"big":"`);
  d.push(Buffer.from('"}\n'));
  assert.equal(problems.length, 1, "the rest of the line is skipped silently");
  const held = feedLongLine(d);
  assert.ok(held <= 1025, `held at most the limit (${held})`);
  assert.deepEqual(frames, [{ next: 1 }]);
  assert.deepEqual(
    problems.map((p) => p.kind),
    ["too_large", "too_large"],
    "once per line",
  );
});

test("sdk framing - reportOversize at_line_end reports an over-long line once with its whole length, at its newline or at end()", () => {
  const { d, frames, problems } = decoder({ maxFrameBytes: 1024, reportOversize: "at_line_end" });
  const held = feedLongLine(d);
  assert.ok(held <= 1025, `held at most the limit (${held})`);
  assert.deepEqual(frames, [{ next: 1 }]);
  assert.deepEqual(
    problems.map((p) => [p.kind, p.bytes, p.preview]),
    [["too_large", 8 + 100 * 512 + 2, `{"big":"`]],
  );
  d.push(Buffer.alloc(3000, 0x62));
  assert.equal(problems.length, 1, "not yet: the line has not ended");
  d.end();
  assert.deepEqual(
    problems.map((p) => p.bytes),
    [8 + 100 * 512 + 2, 3000],
  );
});

test("sdk framing - with onFault a throwing handler costs only its line; without it the throw reaches the caller of push", () => {
  const frames: unknown[] = [];
  const faults: unknown[] = [];
  const guarded = new NdjsonDecoder({
    onFrame: (v) => {
      if ((v as { boom?: boolean }).boom) throw new Error("handler bug");
      frames.push(v);
    },
    onProblem: () => {
      throw new Error("problem handler bug");
    },
    onFault: (err) => faults.push(err),
  });
  guarded.push(Buffer.from('{"n":1}\n{"boom":true}\nnot json\n{"n":2}\n'));
  assert.deepEqual(frames, [{ n: 1 }, { n: 2 }]);
  assert.equal(faults.length, 2);
  const bare = new NdjsonDecoder({
    onFrame: () => {
      throw new Error("handler bug");
    },
    onProblem: () => undefined,
  });
  assert.throws(() => bare.push(Buffer.from("{}\n")), /handler bug/);
});

test("sdk framing - exceedsDepth: the envelope is level 1; 129 levels are too deep; 1e5 levels without a stack overflow", () => {
  const nest = (n: number): string => "[".repeat(n) + "]".repeat(n);
  assert.equal(MAX_FRAME_DEPTH, 128);
  assert.equal(exceedsDepth(JSON.parse(nest(128)), MAX_FRAME_DEPTH), false);
  assert.equal(exceedsDepth(JSON.parse(nest(129)), MAX_FRAME_DEPTH), true);
  const deep = nest(100_000);
  assert.equal(exceedsDepth(JSON.parse(deep), MAX_FRAME_DEPTH, Buffer.from(deep)), true);
  const text = JSON.stringify({ s: "[".repeat(500) });
  assert.equal(exceedsDepth(JSON.parse(text), MAX_FRAME_DEPTH, Buffer.from(text)), false, "brackets inside strings are not nesting");
});

test("sdk framing - readFrames over a stream: frames, one end on end+close, dispose detaches", async () => {
  const s = new PassThrough();
  const frames: unknown[] = [];
  let ends = 0;
  const reader = readFrames(s, { onFrame: (v) => frames.push(v), onProblem: () => undefined, onEnd: () => ends++ });
  s.write('{"a":1}\n{"b"');
  s.write(":2}");
  s.end();
  await new Promise((r) => s.once("close", r));
  assert.deepEqual(frames, [{ a: 1 }, { b: 2 }]);
  assert.equal(ends, 1);
  const s2 = new PassThrough();
  readFrames(s2, { onFrame: () => undefined, onProblem: () => undefined }).dispose();
  reader.dispose();
  assert.equal(s2.listenerCount("data"), 0);
  assert.equal(s.listenerCount("data"), 0);
});

test("sdk framing - writer under backpressure: waits for drain, never holds more than callers queued, loses nothing, keeps order", async () => {
  const lines: string[] = [];
  let maxBuffered = 0;
  const slow: Writable = new Writable({
    highWaterMark: 1024,
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      maxBuffered = Math.max(maxBuffered, slow.writableLength);
      setImmediate(cb);
    },
  });
  const w = new NdjsonWriter(slow);
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 2000; i++) writes.push(w.write({ i, data: "x".repeat(100) }));
  assert.equal(w.pending, 2000, "held by the writer until the stream takes them");
  // A paced sender is made to wait while the pipe is full.
  await new Promise((r) => setImmediate(r));
  let paced = false;
  const sent = w.send({ i: 2000 }).then(() => (paced = true));
  await Promise.resolve();
  assert.equal(paced, false, "send waits while the pipe is full");
  await Promise.all([...writes, sent]);
  await w.idle();
  assert.equal(lines.length, 2001);
  lines.forEach((l, i) => assert.equal((JSON.parse(l) as { i: number }).i, i));
  // The stream never holds more than its high-water mark plus one 64 KiB batch.
  assert.ok(maxBuffered <= 1024 + 64 * 1024 + 200, `stream buffer peaked at ${maxBuffered}`);
});

test("sdk framing - writer refusals: too large, unserializable, after close; a closed stream rejects what waits; errors can be replaced", async () => {
  const s = new PassThrough();
  const w = new NdjsonWriter(s, { maxFrameBytes: 100 });
  const big = { x: "é".repeat(60) };
  await assert.rejects(w.write(big), (e) => e instanceof FrameTooLargeError && e.bytes === Buffer.byteLength(JSON.stringify(big)) && e.limit === 100);
  await w.write({ x: "é".repeat(40) }); // 48 UTF-16 units could be 144 bytes; the exact count (88) lets it through
  assert.throws(() => w.post({ big: 1n }), /not serializable/);
  const queued = w.write({ ok: 1 });
  w.close();
  await assert.rejects(queued, /writer closed/);
  await assert.rejects(w.send({ ok: 2 }), /writer closed/);
  await w.idle();

  class Refused extends Error {}
  const s2 = new PassThrough({ highWaterMark: 1 });
  const w2 = new NdjsonWriter(s2, { errors: { closed: (gone) => new Refused(String(gone)) } });
  await w2.write({ first: true }); // fills the pipe: the next waits for drain
  const waiting = w2.write({ second: true });
  s2.destroy();
  await assert.rejects(waiting, (e) => e instanceof Refused && e.message === "true");
});

test("sdk framing - droppable frames are refused past maxDroppableQueue; other frames are still queued", async () => {
  const s = new PassThrough({ highWaterMark: 1 });
  const w = new NdjsonWriter(s, { maxDroppableQueue: 2 });
  w.post({ n: 0 });
  w.post({ n: 1 }, true);
  assert.throws(() => w.post({ n: 2 }, true), /backlog full \(2 frames/);
  const refused = w.send({ n: 3 }, true);
  w.post({ n: 4 });
  assert.equal(w.pending, 3);
  await assert.rejects(refused, /backlog full/);
  let out = "";
  s.on("data", (c) => (out += c));
  await w.idle();
  assert.deepEqual(
    out
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { n: number }).n),
    [0, 1, 4],
  );
});

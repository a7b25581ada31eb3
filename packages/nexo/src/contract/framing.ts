import { isUtf8 } from "node:buffer";
import { MAX_FRAME_BYTES } from "nexo-plugin-sdk/contract";
import { ErrorCodes, NexoError } from "../errors.js";

/** Largest frame either side may send (docs/contract.md, Transport): the SDK's constant, one value for both ends. */
export { MAX_FRAME_BYTES };

/**
 * Deepest nesting of arrays and objects a frame may have, the envelope
 * counting as level 1. 128 is serde_json's default recursion limit, so the
 * upstream daemon refuses the same frames; it also keeps every later
 * `JSON.stringify` of what a plugin sent (broker delivery, tail, NATS, logs)
 * far from the stack limit.
 */
export const MAX_FRAME_DEPTH = 128;

/** A line that was dropped, with a preview that is safe to log. */
export interface FrameProblem {
  kind: "too_large" | "invalid_json" | "invalid_utf8";
  /** Size of the offending line in bytes (for too_large: bytes seen when it was refused). */
  bytes: number;
  /** The first ~120 characters, for logs. */
  preview: string;
}

export interface NdjsonDecoderHandlers {
  /** A parsed frame; `raw` is its line (UTF-8, no newline), already bounded by `maxFrameBytes`. */
  onFrame(value: unknown, raw: Buffer): void;
  onProblem(problem: FrameProblem): void;
  /**
   * A handler threw while handling one line. When given, the exception stops
   * at that line and reading goes on; without it the exception propagates to
   * the caller of `push` (for a stream reader: out of its `data` handler).
   */
  onFault?(err: unknown): void;
}

export interface FramingOptions {
  /** Default MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const PREVIEW_CHARS = 120;

/** The first ~120 characters of a raw line, for logs; never parses or re-serializes it. */
export function previewLine(buf: Buffer): string {
  return buf
    .subarray(0, PREVIEW_CHARS * 4)
    .toString("utf8")
    .slice(0, PREVIEW_CHARS);
}
const preview = previewLine;

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;

/**
 * Fewer `[` and `{` bytes than `limit` means the line cannot nest `limit`
 * levels: a short line, or a few native `indexOf` calls, settle almost every
 * frame without walking the parsed value.
 */
function hasAtLeastOpeners(raw: Buffer, limit: number): boolean {
  // Every level needs an opening and a closing byte.
  if (raw.length < 2 * limit) return false;
  let n = 0;
  let at = raw.indexOf(OPEN_OBJECT);
  while (at !== -1) {
    if (++n >= limit) return true;
    at = raw.indexOf(OPEN_OBJECT, at + 1);
  }
  at = raw.indexOf(OPEN_ARRAY);
  while (at !== -1) {
    if (++n >= limit) return true;
    at = raw.indexOf(OPEN_ARRAY, at + 1);
  }
  return false;
}

/**
 * True when `value` nests arrays/objects more than `maxDepth` levels (the
 * value itself is level 1). Iterative, and stops at the first path that is
 * too deep, so a hostile value cannot overflow the stack here.
 */
export function exceedsDepth(value: unknown, maxDepth: number, raw?: Buffer): boolean {
  if (raw !== undefined && !hasAtLeastOpeners(raw, maxDepth + 1)) return false;
  if (typeof value !== "object" || value === null) return false;
  // Two parallel stacks, no allocation per node.
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop()!;
    const d = depths.pop()!;
    if (d > maxDepth) return true;
    if (Array.isArray(v)) {
      for (const c of v) {
        if (typeof c === "object" && c !== null) {
          values.push(c);
          depths.push(d + 1);
        }
      }
    } else {
      for (const k in v) {
        const c = (v as Record<string, unknown>)[k];
        if (typeof c === "object" && c !== null) {
          values.push(c);
          depths.push(d + 1);
        }
      }
    }
  }
  return false;
}

/**
 * NDJSON reader as a pure state machine: bytes in, frames out. Holds at most one
 * partial line of at most `maxFrameBytes`; a longer line is reported once and
 * its remaining bytes are discarded up to the next newline, so a hostile or
 * broken peer cannot make it buffer without bound.
 */
export class NdjsonDecoder {
  private readonly max: number;
  private parts: Buffer[] = [];
  private partialBytes = 0;
  private skipping = false;

  constructor(
    private readonly handlers: NdjsonDecoderHandlers,
    options: FramingOptions = {},
  ) {
    this.max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** Bytes currently held for an unterminated line. */
  get bufferedBytes(): number {
    return this.partialBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) {
        this.hold(chunk, start);
        return;
      }
      if (this.skipping) {
        this.skipping = false;
      } else {
        const len = this.partialBytes + (nl - start);
        const endsWithCr = nl > start ? chunk[nl - 1] === CR : this.lastHeldByteIsCr();
        if (len - (endsWithCr ? 1 : 0) > this.max) {
          this.problem({ kind: "too_large", bytes: len, preview: preview(this.parts[0] ?? chunk.subarray(start, nl)) });
        } else {
          const line = this.parts.length === 0 ? chunk.subarray(start, nl) : Buffer.concat([...this.parts, chunk.subarray(start, nl)], len);
          this.emit(line);
        }
        this.parts = [];
        this.partialBytes = 0;
      }
      start = nl + 1;
    }
  }

  /** End of input: an unterminated final line is still a frame. */
  end(): void {
    if (!this.skipping && this.partialBytes > 0) {
      const line = Buffer.concat(this.parts, this.partialBytes);
      this.parts = [];
      this.partialBytes = 0;
      this.emit(line);
    }
    this.skipping = false;
  }

  private hold(chunk: Buffer, start: number): void {
    const rest = chunk.length - start;
    if (rest === 0 || this.skipping) return;
    // +1 leaves room for the CR of a CRLF line of exactly max bytes.
    if (this.partialBytes + rest > this.max + 1) {
      this.problem({ kind: "too_large", bytes: this.partialBytes + rest, preview: preview(this.parts[0] ?? chunk.subarray(start)) });
      this.parts = [];
      this.partialBytes = 0;
      this.skipping = true;
      return;
    }
    this.parts.push(chunk.subarray(start));
    this.partialBytes += rest;
  }

  private lastHeldByteIsCr(): boolean {
    const last = this.parts[this.parts.length - 1];
    return last !== undefined && last.length > 0 && last[last.length - 1] === CR;
  }

  private emit(raw: Buffer): void {
    const line = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
    if (line.length === 0) return;
    if (!isUtf8(line)) {
      this.problem({ kind: "invalid_utf8", bytes: line.length, preview: preview(line) });
      return;
    }
    const text = line.toString("utf8");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim().length === 0) return; // whitespace-only lines are ignored, not errors
      this.problem({ kind: "invalid_json", bytes: line.length, preview: text.slice(0, PREVIEW_CHARS) });
      return;
    }
    if (!this.handlers.onFault) {
      this.handlers.onFrame(value, line);
      return;
    }
    try {
      this.handlers.onFrame(value, line);
    } catch (err) {
      this.fault(err);
    }
  }

  private problem(problem: FrameProblem): void {
    if (!this.handlers.onFault) {
      this.handlers.onProblem(problem);
      return;
    }
    try {
      this.handlers.onProblem(problem);
    } catch (err) {
      this.fault(err);
    }
  }

  private fault(err: unknown): void {
    try {
      this.handlers.onFault!(err);
    } catch {
      // the fault handler itself failed: nothing is left to tell; keep reading
    }
  }
}

/**
 * Feed a readable stream into a decoder. `dispose()` detaches the listeners
 * only; the stream itself is left open (its owner closes it).
 */
export function readFrames(stream: NodeJS.ReadableStream, handlers: NdjsonDecoderHandlers & { onEnd?(): void }, options: FramingOptions = {}): { dispose(): void } {
  const decoder = new NdjsonDecoder(handlers, options);
  let ended = false;
  const onData = (chunk: Buffer | string): void => decoder.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
  const onEnd = (): void => {
    if (ended) return;
    ended = true;
    decoder.end();
    handlers.onEnd?.();
  };
  stream.on("data", onData);
  stream.on("end", onEnd);
  stream.on("close", onEnd);
  return {
    dispose(): void {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onEnd);
    },
  };
}

const NOOP = (): void => undefined;

/** One frame as JSON text; NEXO_ERR_CONTRACT_INVALID_FRAME when it cannot be (a cycle, a BigInt). */
function serialize(frame: unknown): string {
  try {
    return JSON.stringify(frame);
  } catch (err) {
    throw new NexoError(ErrorCodes.CONTRACT_INVALID_FRAME, `frame is not serializable: ${(err as Error).message}`, { cause: err });
  }
}

interface QueuedLine {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Bytes one batched write may carry; bounds the string built per write. */
const BATCH_BYTES = 64 * 1024;

/**
 * Serialized NDJSON writer: frames are written whole and in call order, never
 * interleaved. Frames queued in the same tick go out in one `write()` (fewer
 * syscalls under load); when the stream signals backpressure the writer waits
 * for `drain`, so what it holds is only what callers queued (see `pending`).
 */
export class NdjsonWriter {
  private readonly max: number;
  private queue: QueuedLine[] = [];
  private head = 0;
  private queuedChars = 0;
  private scheduled = false;
  private waitingDrain = false;
  private closedError: Error | undefined;
  private roomWaiters: Array<{ below: number; resolve: () => void }> = [];

  constructor(
    private readonly stream: NodeJS.WritableStream,
    options: FramingOptions = {},
  ) {
    this.max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    const onGone = (): void => this.fail(new NexoError(ErrorCodes.CONTRACT_WRITER_CLOSED, "the stream closed; frame not written"));
    stream.once("close", onGone);
    stream.once("error", onGone);
  }

  /** Frames queued but not yet handed to the stream. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Size of the queued frames in UTF-16 code units (about bytes for ASCII JSON; at most a third of their UTF-8 bytes less). */
  get pendingChars(): number {
    return this.queuedChars;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Resolves once fewer than `below` frames are pending (or the writer closed). */
  whenPendingBelow(below: number): Promise<void> {
    if (this.pending < below || this.closedError) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ below, resolve }));
  }

  /** Serialize `frame` and queue it. Rejects on oversize (NEXO_ERR_CONTRACT_FRAME_TOO_LARGE) or after close. */
  write(frame: unknown): Promise<void> {
    let json: string;
    try {
      json = serialize(frame);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writeLine(json);
  }

  /** Queue an already-serialized frame (must not contain a raw newline). */
  writeLine(json: string): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    const tooLarge = this.oversize(json);
    if (tooLarge) return Promise.reject(tooLarge);
    return new Promise<void>((resolve, reject) => this.enqueue({ line: json, resolve, reject }));
  }

  /**
   * `write` without a promise, for notifications nobody awaits (one per
   * broker event on the hot path). Throws what `write` would reject with.
   */
  post(frame: unknown): void {
    if (this.closedError) throw this.closedError;
    const json = serialize(frame);
    const tooLarge = this.oversize(json);
    if (tooLarge) throw tooLarge;
    this.enqueue({ line: json, resolve: NOOP, reject: NOOP });
  }

  private oversize(json: string): NexoError | undefined {
    // Cheap bound first: a UTF-16 string of n units is at most 3n UTF-8 bytes.
    if (json.length * 3 <= this.max) return undefined;
    const bytes = Buffer.byteLength(json, "utf8");
    return bytes > this.max ? new NexoError(ErrorCodes.CONTRACT_FRAME_TOO_LARGE, `frame of ${bytes} bytes exceeds the ${this.max}-byte limit`) : undefined;
  }

  private enqueue(entry: QueuedLine): void {
    this.queue.push(entry);
    this.queuedChars += entry.line.length + 1;
    if (!this.scheduled && !this.waitingDrain) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Stop writing; queued frames are rejected. The stream is not ended (its owner does that). */
  close(): void {
    this.fail(new NexoError(ErrorCodes.CONTRACT_WRITER_CLOSED, "writer closed; frame not written"));
  }

  private flush(): void {
    this.scheduled = false;
    while (!this.waitingDrain && !this.closedError && this.head < this.queue.length) {
      const first = this.head;
      let data = "";
      while (this.head < this.queue.length && data.length < BATCH_BYTES) {
        data += this.queue[this.head].line;
        data += "\n";
        this.head++;
      }
      this.queuedChars -= data.length;
      const batch = this.queue.slice(first, this.head);
      let ok: boolean;
      try {
        ok = this.stream.write(data);
      } catch (err) {
        this.fail(err as Error);
        for (const b of batch) b.reject(err as Error);
        return;
      }
      for (const b of batch) b.resolve();
      if (!ok) {
        this.waitingDrain = true;
        this.stream.once("drain", () => {
          this.waitingDrain = false;
          this.flush();
        });
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.roomWaiters.length > 0) this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    const pending = this.pending;
    const still: Array<{ below: number; resolve: () => void }> = [];
    for (const w of this.roomWaiters) {
      if (pending < w.below || this.closedError) w.resolve();
      else still.push(w);
    }
    this.roomWaiters = still;
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    const rest = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.queuedChars = 0;
    for (const q of rest) q.reject(err);
    this.wakeRoomWaiters();
  }
}

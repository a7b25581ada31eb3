import { isUtf8 } from "node:buffer";

/** Largest frame either side may send. */
export const MAX_FRAME_BYTES = 1_048_576;

/**
 * Line splitter for stdin: bounded (a line over `max` bytes is skipped up to
 * its newline without being buffered, then reported once with its length),
 * CRLF-tolerant, ignores blank lines, reports invalid UTF-8 and non-JSON
 * lines (`detail`: the byte count, or the parser's message).
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private held = 0;
  private skipping = false;
  private skipped = 0;

  constructor(
    private readonly max: number,
    private readonly onValue: (value: unknown) => void,
    private readonly onBad: (kind: "too_large" | "invalid_utf8" | "invalid_json", detail: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        const rest = chunk.length - start;
        if (rest > 0) {
          if (this.skipping) this.skipped += rest;
          else if (this.held + rest > this.max + 1) {
            this.skipped = this.held + rest;
            this.parts = [];
            this.held = 0;
            this.skipping = true;
          } else {
            this.parts.push(chunk.subarray(start));
            this.held += rest;
          }
        }
        return;
      }
      if (this.skipping) {
        this.skipping = false;
        this.onBad("too_large", String(this.skipped + (nl - start)));
        this.skipped = 0;
      } else {
        const len = this.held + (nl - start);
        if (len > this.max + 1) this.onBad("too_large", String(len));
        else this.line(this.parts.length ? Buffer.concat([...this.parts, chunk.subarray(start, nl)], len) : chunk.subarray(start, nl));
        this.parts = [];
        this.held = 0;
      }
      start = nl + 1;
    }
  }

  end(): void {
    if (this.skipping) this.onBad("too_large", String(this.skipped));
    else if (this.held > 0) this.line(Buffer.concat(this.parts, this.held));
    this.skipping = false;
    this.skipped = 0;
    this.parts = [];
    this.held = 0;
  }

  private line(raw: Buffer): void {
    const buf = raw.length && raw[raw.length - 1] === 13 ? raw.subarray(0, raw.length - 1) : raw;
    if (buf.length === 0) return;
    if (buf.length > this.max) return this.onBad("too_large", String(buf.length));
    if (!isUtf8(buf)) return this.onBad("invalid_utf8", "line is not valid UTF-8");
    const text = buf.toString("utf8");
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return this.onBad("invalid_json", err instanceof Error ? err.message : String(err));
    }
    this.onValue(value);
  }
}

/**
 * Most frames written together while a burst of events is being handled, and
 * the queue length below which `send` resolves at once (above it, or while the
 * pipe is full, it resolves when written: backpressure). A batch of 32 small
 * frames stays well under the 64 KiB pipe buffer.
 */
const BATCH_FRAMES = 32;

const RESOLVED: Promise<void> = Promise.resolve();
const NOOP = (): void => undefined;

/** Frames a `FrameWriter` holds while the pipe is full, beyond which droppable frames are refused. */
export const MAX_QUEUED_FRAMES = 4096;

/**
 * Serialized frame writer: whole lines, in call order, batched per tick (and
 * across a burst of queued events, see `holdWhile`), waiting for `drain` under
 * backpressure (vscode-jsonrpc's one-writer rule).
 * Droppable frames (the plugin's own publishes) are refused once
 * `maxQueued` frames wait, so a plugin outrunning the host cannot grow
 * memory without bound; replies are always queued, as the host bounds how
 * many requests it has in flight.
 */
export class FrameWriter {
  private queue: Array<{ line: string; done: () => void }> = [];
  private scheduled = false;
  private waiting = false;
  private held = false;
  private idleWaiters: Array<() => void> = [];
  /**
   * While this returns true (more events are queued behind the one being
   * handled), frames wait to share one write, up to BATCH_FRAMES and never past
   * the current turn of the event loop. One write per event made the host wake
   * up and read once per event; batches halve the CPU of both sides.
   */
  holdWhile: (() => boolean) | undefined;

  constructor(
    private readonly write: (data: string) => boolean,
    private readonly onDrain: (fn: () => void) => void,
    private readonly max = MAX_FRAME_BYTES,
    private readonly maxQueued = MAX_QUEUED_FRAMES,
  ) {}

  /**
   * Queue a frame. Resolves at once while the queue is short and the pipe has
   * room, else once the frame is handed to the stream, so a sender awaiting
   * each frame is slowed to the host's pace. Rejects if it exceeds the frame
   * limit, or if droppable and the queue is full.
   */
  send(frame: unknown, droppable = false): Promise<void> {
    let line: string;
    try {
      line = JSON.stringify(frame);
    } catch (err) {
      return Promise.reject(new Error(`frame is not serializable as JSON: ${(err as Error).message}`));
    }
    // UTF-16 length x3 bounds the UTF-8 length, so most frames skip the exact count.
    if (line.length * 3 > this.max && Buffer.byteLength(line) > this.max) {
      return Promise.reject(new FrameTooLargeError(Buffer.byteLength(line), this.max));
    }
    if (droppable && this.queue.length >= this.maxQueued) {
      return Promise.reject(new Error(`stdout backlog full (${this.maxQueued} frames waiting for the host to read); frame dropped`));
    }
    if (!this.waiting && this.queue.length < BATCH_FRAMES) {
      this.queue.push({ line, done: NOOP });
      this.schedule();
      return RESOLVED;
    }
    return new Promise((done) => {
      this.queue.push({ line, done });
      this.schedule();
    });
  }

  /** Write held frames now: the burst that held them is over. */
  release(): void {
    if (this.held) this.flush(true);
  }

  private schedule(): void {
    if (!this.scheduled && !this.waiting) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Resolves when everything queued has been handed to the stream. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.waiting) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private flush(force = false): void {
    this.scheduled = false;
    if (!force && this.queue.length < BATCH_FRAMES && this.holdWhile?.()) {
      if (!this.held) {
        this.held = true;
        // A handler awaiting I/O ends the burst: write what is held at the end of this turn.
        setImmediate(() => this.release());
      }
      return;
    }
    this.held = false;
    while (!this.waiting && this.queue.length > 0) {
      const batch = this.queue.splice(0, 256);
      let data = "";
      for (const b of batch) data += `${b.line}\n`;
      const ok = this.write(data);
      for (const b of batch) b.done();
      if (!ok) {
        this.waiting = true;
        this.onDrain(() => {
          this.waiting = false;
          this.flush();
        });
      }
    }
    if (!this.waiting && this.queue.length === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const fn of w) fn();
    }
  }
}

/** A frame the SDK refused to write because it exceeds `maxFrameBytes`. */
export class FrameTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`frame of ${bytes} bytes exceeds the ${limit}-byte limit`);
    this.name = "FrameTooLargeError";
  }
}

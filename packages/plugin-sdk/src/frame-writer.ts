import { FrameTooLargeError, MAX_FRAME_BYTES } from "./framing.js";

/** Where frames go: a writable stream, or anything with its `write` and `once`. */
export interface FrameSink {
  /** Hand over data; false means the pipe is full, wait for `drain`. */
  write(data: string): boolean;
  /** `drain`, and `close`/`error` (after which nothing more is written). */
  once(event: string, listener: (...args: any[]) => void): unknown;
}

/** The errors a writer refuses or abandons a frame with; each end of the wire names them in its own error catalogue. */
export interface FrameWriterErrors {
  /** The frame's JSON is over `maxFrameBytes`. Default: `FrameTooLargeError`. */
  tooLarge(bytes: number, limit: number): Error;
  /** `JSON.stringify` threw (a cycle, a BigInt). */
  unserializable(cause: Error): Error;
  /** The writer was closed (`streamGone`: because its stream closed or failed). */
  closed(streamGone: boolean): Error;
  /** A droppable frame while `maxDroppableQueue` frames wait. */
  backlogFull(limit: number): Error;
}

export interface NdjsonWriterOptions {
  /** Largest frame written, in UTF-8 bytes. Default MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
  /** Frames waiting past which a droppable frame is refused. Default MAX_QUEUED_FRAMES. */
  maxDroppableQueue?: number;
  /** Replaces some of the default errors. */
  errors?: Partial<FrameWriterErrors>;
}

/** Frames a writer holds while the pipe is full, beyond which droppable frames are refused. */
export const MAX_QUEUED_FRAMES = 4096;

const defaultErrors: FrameWriterErrors = {
  tooLarge: (bytes, limit) => new FrameTooLargeError(bytes, limit),
  unserializable: (cause) => new Error(`frame is not serializable as JSON: ${cause.message}`),
  closed: (streamGone) => new Error(streamGone ? "the stream closed; frame not written" : "writer closed; frame not written"),
  backlogFull: (limit) => new Error(`backlog full (${limit} frames waiting for the peer to read); frame dropped`),
};

/**
 * Frames queued below which `send` resolves at once, and the most frames a
 * held burst collects before it is written (see `holdWhile`). 32 small frames
 * stay well under a 64 KiB pipe buffer.
 */
const BATCH_FRAMES = 32;
/** Bytes one batched write may carry; bounds the string built per write. */
const BATCH_BYTES = 64 * 1024;

const RESOLVED: Promise<void> = Promise.resolve();
const NOOP = (): void => undefined;

interface QueuedLine {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Serialized NDJSON writer: frames are written whole and in call order, never
 * interleaved (vscode-jsonrpc's one-writer rule). Frames queued in the same
 * tick go out in one `write()`, up to 64 KiB; when the sink reports a full
 * pipe the writer waits for `drain`, so what it holds is only what callers
 * queued (`pending`, `pendingChars`), which callers bound: droppable frames
 * are refused past `maxDroppableQueue`, and the host bounds its queue itself.
 * When the sink closes or fails, queued frames are rejected.
 */
export class NdjsonWriter {
  private readonly max: number;
  private readonly maxDroppable: number;
  private readonly errors: FrameWriterErrors;
  private queue: QueuedLine[] = [];
  private head = 0;
  private queuedChars = 0;
  private scheduled = false;
  private waitingDrain = false;
  private held = false;
  private closedError: Error | undefined;
  private roomWaiters: Array<{ below: number; resolve: () => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private readonly flushNow = (): void => this.flush();
  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    this.flush();
  };
  private readonly onGone = (): void => this.fail(this.errors.closed(true));

  /**
   * While this returns true (more work is queued behind what is being
   * handled, e.g. a burst of events), frames wait to share one write, up to
   * 32 frames and never past the current turn of the event loop. One write
   * per event made the reader wake once per event; batches halve the CPU of
   * both sides of a pipe.
   */
  holdWhile: (() => boolean) | undefined;

  constructor(
    private readonly sink: FrameSink,
    options: NdjsonWriterOptions = {},
  ) {
    this.max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.maxDroppable = options.maxDroppableQueue ?? MAX_QUEUED_FRAMES;
    this.errors = options.errors ? { ...defaultErrors, ...options.errors } : defaultErrors;
    sink.once("close", this.onGone);
    sink.once("error", this.onGone);
  }

  /** Frames queued but not yet handed to the sink. */
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

  /** Resolves when everything queued has been handed to the sink and the pipe is not full (or the writer closed). */
  idle(): Promise<void> {
    if ((this.pending === 0 && !this.waitingDrain) || this.closedError) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Queue `frame`; resolves once it is handed to the sink. Rejects on oversize, an unserializable frame, or after close. */
  write(frame: unknown): Promise<void> {
    let line: string;
    try {
      line = this.accept(frame, false);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => this.enqueue({ line, resolve, reject }));
  }

  /**
   * `write` without a promise, for frames nobody awaits (one per event on the
   * hot path). Throws what `write` would reject with; a `droppable` frame is
   * also refused while `maxDroppableQueue` frames wait.
   */
  post(frame: unknown, droppable = false): void {
    this.enqueue({ line: this.accept(frame, droppable), resolve: NOOP, reject: NOOP });
  }

  /**
   * Queue a frame and pace the caller: resolves at once while the queue is
   * short and the pipe has room, else once the frame is handed to the sink,
   * so a sender awaiting each frame is slowed to the reader's pace. Rejects
   * as `post` throws.
   */
  send(frame: unknown, droppable = false): Promise<void> {
    let line: string;
    try {
      line = this.accept(frame, droppable);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.waitingDrain && this.pending < BATCH_FRAMES) {
      this.enqueue({ line, resolve: NOOP, reject: NOOP });
      return RESOLVED;
    }
    return new Promise<void>((resolve, reject) => this.enqueue({ line, resolve, reject }));
  }

  /** Write held frames now: the burst that held them is over. */
  release(): void {
    if (this.held) this.flush(true);
  }

  /** Stop writing; queued frames are rejected. The sink is not ended (its owner does that). */
  close(): void {
    this.fail(this.errors.closed(false));
  }

  /** The frame's line, or a throw: closed, unserializable, too large, or a droppable frame over the backlog. */
  private accept(frame: unknown, droppable: boolean): string {
    if (this.closedError) throw this.closedError;
    let json: string;
    try {
      json = JSON.stringify(frame);
    } catch (err) {
      throw this.errors.unserializable(err as Error);
    }
    // Cheap bound first: a UTF-16 string of n units is at most 3n UTF-8 bytes.
    if (json.length * 3 > this.max) {
      const bytes = Buffer.byteLength(json, "utf8");
      if (bytes > this.max) throw this.errors.tooLarge(bytes, this.max);
    }
    if (droppable && this.pending >= this.maxDroppable) throw this.errors.backlogFull(this.maxDroppable);
    return json;
  }

  private enqueue(entry: QueuedLine): void {
    this.queue.push(entry);
    this.queuedChars += entry.line.length + 1;
    if (!this.scheduled && !this.waitingDrain) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  private flush(force = false): void {
    this.scheduled = false;
    if (!force && this.holdWhile !== undefined && this.pending < BATCH_FRAMES && this.holdWhile()) {
      if (!this.held) {
        this.held = true;
        // A handler awaiting I/O ends the burst: write what is held at the end of this turn.
        setImmediate(() => this.release());
      }
      return;
    }
    this.held = false;
    while (!this.waitingDrain && !this.closedError && this.head < this.queue.length) {
      const first = this.head;
      let data = "";
      while (this.head < this.queue.length && data.length < BATCH_BYTES) {
        data += this.queue[this.head].line;
        data += "\n";
        this.head++;
      }
      this.queuedChars -= data.length;
      let ok: boolean;
      try {
        ok = this.sink.write(data);
      } catch (err) {
        for (let i = first; i < this.head; i++) this.queue[i].reject(err as Error);
        this.fail(err as Error);
        return;
      }
      for (let i = first; i < this.head; i++) this.queue[i].resolve();
      if (!ok) {
        this.waitingDrain = true;
        this.sink.once("drain", this.onDrain);
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
    if (this.idleWaiters.length > 0 && this.pending === 0 && !this.waitingDrain) this.wakeIdleWaiters();
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

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
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
    this.wakeIdleWaiters();
  }
}

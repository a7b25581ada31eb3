import { isUtf8 } from "node:buffer";
import { MAX_FRAME_BYTES, previewLine } from "./framing.js";

/** A line that was dropped, with a preview that is safe to log. */
export interface FrameProblem {
  kind: "too_large" | "invalid_json" | "invalid_utf8";
  /** Size of the line in bytes; for too_large, see `NdjsonDecoderOptions.reportOversize`. */
  bytes: number;
  /** The first ~120 characters, for logs. */
  preview: string;
  /** Why it was dropped: for invalid_json, the JSON parser's message. */
  reason: string;
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

export interface NdjsonDecoderOptions {
  /** Longest line accepted, in bytes without the newline (a CR before it is not counted). Default MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
  /**
   * When an over-long line is reported. `"at_limit"` (default): as soon as it
   * outgrows the bound, `bytes` being what had arrived by then, so a peer that
   * never sends a newline is reported at once. `"at_line_end"`: once its
   * newline (or the end of input) arrives, `bytes` being its whole length.
   * Either way it is reported once and never buffered past the bound.
   */
  reportOversize?: "at_limit" | "at_line_end";
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * NDJSON reader as a pure state machine: bytes in, frames out. Holds at most one
 * partial line of at most `maxFrameBytes` (+1 for a CR); a longer line is
 * reported once and its remaining bytes are discarded up to the next newline,
 * so a hostile or broken peer cannot make it buffer without bound. CRLF and
 * blank lines are tolerated; invalid UTF-8 and non-JSON lines are reported and
 * reading goes on.
 */
export class NdjsonDecoder {
  private readonly max: number;
  private readonly reportAtLimit: boolean;
  private parts: Buffer[] = [];
  private partialBytes = 0;
  private skipping = false;
  /** While skipping (at_line_end): bytes of the line so far, and its preview. */
  private skipped = 0;
  private skippedPreview = "";

  constructor(
    private readonly handlers: NdjsonDecoderHandlers,
    options: NdjsonDecoderOptions = {},
  ) {
    this.max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.reportAtLimit = (options.reportOversize ?? "at_limit") === "at_limit";
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
        if (!this.reportAtLimit) this.reportSkipped(this.skipped + (nl - start));
      } else {
        const len = this.partialBytes + (nl - start);
        const endsWithCr = nl > start ? chunk[nl - 1] === CR : this.lastHeldByteIsCr();
        if (len - (endsWithCr ? 1 : 0) > this.max) {
          this.tooLarge(len, previewLine(this.parts[0] ?? chunk.subarray(start, nl)));
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
    if (this.skipping) {
      if (!this.reportAtLimit) this.reportSkipped(this.skipped);
    } else if (this.partialBytes > 0) {
      const line = Buffer.concat(this.parts, this.partialBytes);
      this.parts = [];
      this.partialBytes = 0;
      this.emit(line);
    }
    this.skipping = false;
  }

  private hold(chunk: Buffer, start: number): void {
    const rest = chunk.length - start;
    if (rest === 0) return;
    if (this.skipping) {
      this.skipped += rest;
      return;
    }
    // +1 leaves room for the CR of a CRLF line of exactly max bytes.
    if (this.partialBytes + rest > this.max + 1) {
      const seen = this.partialBytes + rest;
      const preview = previewLine(this.parts[0] ?? chunk.subarray(start));
      if (this.reportAtLimit) this.tooLarge(seen, preview);
      else {
        this.skipped = seen;
        this.skippedPreview = preview;
      }
      this.parts = [];
      this.partialBytes = 0;
      this.skipping = true;
      return;
    }
    this.parts.push(chunk.subarray(start));
    this.partialBytes += rest;
  }

  private reportSkipped(bytes: number): void {
    const preview = this.skippedPreview;
    this.skipped = 0;
    this.skippedPreview = "";
    this.tooLarge(bytes, preview);
  }

  private lastHeldByteIsCr(): boolean {
    const last = this.parts[this.parts.length - 1];
    return last !== undefined && last.length > 0 && last[last.length - 1] === CR;
  }

  private tooLarge(bytes: number, preview: string): void {
    this.problem({ kind: "too_large", bytes, preview, reason: `line of ${bytes} bytes exceeds the ${this.max}-byte limit` });
  }

  private emit(raw: Buffer): void {
    const line = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
    if (line.length === 0) return;
    if (!isUtf8(line)) {
      this.problem({ kind: "invalid_utf8", bytes: line.length, preview: previewLine(line), reason: "line is not valid UTF-8" });
      return;
    }
    const text = line.toString("utf8");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (text.trim().length === 0) return; // whitespace-only lines are ignored, not errors
      this.problem({ kind: "invalid_json", bytes: line.length, preview: text.slice(0, 120), reason: err instanceof Error ? err.message : String(err) });
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
 * Feed a readable stream into a decoder; `onEnd` runs once, on `end` or
 * `close`. `dispose()` detaches the listeners only; the stream itself is left
 * open (its owner closes it).
 */
export function readFrames(stream: NodeJS.ReadableStream, handlers: NdjsonDecoderHandlers & { onEnd?(): void }, options: NdjsonDecoderOptions = {}): { dispose(): void } {
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

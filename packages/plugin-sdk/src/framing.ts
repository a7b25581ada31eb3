/**
 * The limits of the stdio wire and the checks both ends apply to a line: the
 * frame size bound, the nesting bound a host enforces on untrusted plugins,
 * and a log-safe preview of a raw line. The reader and writer built on them
 * are `frame-reader.ts` and `frame-writer.ts`.
 */

/** Largest frame either side may send, in UTF-8 bytes without the newline. */
export const MAX_FRAME_BYTES = 1_048_576;

/**
 * Deepest nesting of arrays and objects a frame may have, the envelope
 * counting as level 1. 128 is serde_json's default recursion limit, so the
 * upstream daemon refuses the same frames; it also keeps every later
 * `JSON.stringify` of what a peer sent far from the stack limit.
 */
export const MAX_FRAME_DEPTH = 128;

/** A frame refused because its JSON exceeds the frame limit. */
export class FrameTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`frame of ${bytes} bytes exceeds the ${limit}-byte limit`);
    this.name = "FrameTooLargeError";
  }
}

const PREVIEW_CHARS = 120;

/** The first ~120 characters of a raw line, for logs; never parses or re-serializes it. */
export function previewLine(buf: Buffer): string {
  return buf
    .subarray(0, PREVIEW_CHARS * 4)
    .toString("utf8")
    .slice(0, PREVIEW_CHARS);
}

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
 * value itself is level 1). `raw`, the line it was parsed from, lets most
 * frames be settled by counting brackets. Iterative, and stops at the first
 * path that is too deep, so a hostile value cannot overflow the stack here.
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

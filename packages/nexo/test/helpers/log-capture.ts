import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../src/log/index.js";

/** A real pino logger writing JSON lines into memory, so tests can assert what was logged. */
export function captureLogger(level = "debug"): { logger: Logger; lines: () => Array<Record<string, any>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ level }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

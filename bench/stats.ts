import type { Readable } from "node:stream";

/** Shared helpers for benchmarks: percentiles, aligned output, and reading a raw baseline child's frames. */

/** Call `onFrame` with each NDJSON line of `stream`, parsed (a host parses every frame, so raw baselines do too). */
export function onFrames(stream: Readable, onFrame: (frame: unknown) => void): void {
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) !== -1) {
      const frame: unknown = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      onFrame(frame);
    }
  });
}

export function percentile(sortedNs: number[], p: number): number {
  if (sortedNs.length === 0) return 0;
  const i = Math.min(sortedNs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedNs.length) - 1));
  return sortedNs[i];
}

export interface Row {
  name: string;
  opsPerSec: number;
  p50us?: number;
  p99us?: number;
  ratio?: string;
}

export function printRows(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  console.log(`${"case".padEnd(52)} ${"ops/s".padStart(12)} ${"p50 µs".padStart(9)} ${"p99 µs".padStart(9)}  ratio`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(52)} ${Math.round(r.opsPerSec).toLocaleString("en-US").padStart(12)} ${(r.p50us?.toFixed(1) ?? "-").padStart(9)} ${(r.p99us?.toFixed(1) ?? "-").padStart(9)}  ${r.ratio ?? ""}`,
    );
  }
}

/** Latency summary of a list of nanosecond samples. */
export function summarize(samplesNs: number[]): { p50us: number; p99us: number } {
  const s = samplesNs.slice().sort((a, b) => a - b);
  return { p50us: percentile(s, 50) / 1000, p99us: percentile(s, 99) / 1000 };
}

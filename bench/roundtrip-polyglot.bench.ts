// Round trips host -> echo plugin -> host for each SDK language (TS, Python, PHP, Rust),
// beside the raw NDJSON baseline measured in the same run.
// Run: npm run build && bash scripts/setup.sh && node --import tsx bench/roundtrip-polyglot.bench.ts
// Env: BENCH_SEQ (sequential round trips, default 5000), BENCH_PIPE (pipelined, default 50000).
// Each case first runs WARMUP untimed round trips, so no case pays for JIT warm-up the others skip.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalBroker } from "../packages/nexo/src/broker/index.js";
import { newEvent } from "../packages/nexo/src/contract/index.js";
import { PluginHost } from "../packages/nexo/src/host/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { loadManifest } from "../packages/nexo/src/manifest/index.js";
import { onFrames, printRows, summarize, type Row } from "./stats.js";

const SEQ = Number(process.env.BENCH_SEQ ?? 5000);
const PIPE_TOTAL = Number(process.env.BENCH_PIPE ?? 50_000);
const WARMUP = 1000;
const IN_FLIGHT = 1000;
const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));
const RAW = fileURLToPath(new URL("./fixtures/raw-echo.mjs", import.meta.url));
/** The Python baseline: the same bare echo child in Python (stdlib only), for the Python SDK's ratio. */
const RAW_PY = fileURLToPath(new URL("./fixtures/raw-echo.py", import.meta.url));

/** One way to send an event and learn when its echo came back. */
interface Echoer {
  send(i: number): void;
  onEcho: (() => void) | null;
  close(): Promise<void>;
  /** The echo child's process id, for its CPU time. */
  pid(): number | null | undefined;
}

/** User + system CPU of a process so far, in µs (Linux /proc; 0 elsewhere). */
function processCpuMicros(pid: number | null | undefined): number {
  if (!pid) return 0;
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks, counted after the ")" that ends the command name.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return 0;
  }
}

/** CPU per pipelined event of the echo child and of this process (driver, plus the host when there is one). */
function cpuNote(childMicros: number, selfMicros: number, events: number): string {
  return `child ${(childMicros / events).toFixed(1)} µs/event, bench process ${(selfMicros / events).toFixed(1)} µs/event`;
}

/** Sequential round trips (latency), then `IN_FLIGHT` at a time (throughput). */
async function measure(name: string, e: Echoer): Promise<{ seq: Row; pipe: Row; cpu: string }> {
  for (let i = 0; i < WARMUP; i++) {
    await new Promise<void>((resolve) => {
      e.onEcho = resolve;
      e.send(i);
    });
  }
  const samples: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < SEQ; i++) {
    const s = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      e.onEcho = resolve;
      e.send(i);
    });
    samples.push(Number(process.hrtime.bigint() - s));
  }
  const seqSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  let sent = 0;
  let received = 0;
  const child0 = processCpuMicros(e.pid());
  const self0 = process.cpuUsage();
  const p0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    // Refill in steps of 64 (the host's stdin queue depth) so nothing is dropped.
    const pump = (): void => {
      while (sent < PIPE_TOTAL && sent - received < IN_FLIGHT) e.send(sent++);
    };
    e.onEcho = () => {
      if (++received === PIPE_TOTAL) resolve();
      else if (received % 64 === 0) pump();
    };
    pump();
  });
  const pipeSecs = Number(process.hrtime.bigint() - p0) / 1e9;
  const selfUsed = process.cpuUsage(self0);
  const cpu = cpuNote(processCpuMicros(e.pid()) - child0, selfUsed.user + selfUsed.system, PIPE_TOTAL);
  await e.close();
  return {
    seq: { name: `${name}, sequential`, opsPerSec: SEQ / seqSecs, ...summarize(samples) },
    pipe: { name: `${name}, ${IN_FLIGHT} in flight`, opsPerSec: PIPE_TOTAL / pipeSecs },
    cpu,
  };
}

function frameFor(i: number): string {
  const ev = newEvent("plugin.outbound.echo", "bench", { text: `hello ${i}`, n: i });
  return `${JSON.stringify({ jsonrpc: "2.0", method: "broker.event", params: { topic: ev.topic, event: ev } })}\n`;
}

/** The floor: a bare NDJSON echo child, each reply parsed, no SDK and no host. */
function rawEchoer(command: string = process.execPath, script: string = RAW): Echoer {
  const child = spawn(command, [script], { stdio: ["pipe", "pipe", "inherit"] });
  const e: Echoer = {
    onEcho: null,
    send: (i) => void child.stdin.write(frameFor(i)),
    close: async () => void child.stdin.end(),
    pid: () => child.pid,
  };
  onFrames(child.stdout, () => e.onEcho?.());
  return e;
}

/** The real path: broker -> host -> plugin (SDK) -> host (allowlist, completion) -> broker -> subscriber. */
async function hostEchoer(dir: string, id: string): Promise<Echoer> {
  const state = mkdtempSync(join(tmpdir(), "nexo-bench-"));
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: state });
  host.add({ manifest: loadManifest(join(EXAMPLES, dir), { nexoVersion: "0.1.0" }) });
  const report = await host.startAll();
  if (report.failed.length) throw new Error(`${dir} failed to start: ${report.failed[0].error} (run npm run build and bash scripts/setup.sh)`);
  const e: Echoer = {
    onEcho: null,
    send: (i) => void broker.publish(`plugin.outbound.${id}`, newEvent(`plugin.outbound.${id}`, "bench", { text: `hello ${i}`, n: i })),
    close: async () => {
      const dropped = host.status()[0].droppedEvents;
      if (dropped) console.error(`${id}: ${dropped} event(s) dropped`);
      await host.stopAll();
      await broker.close();
      rmSync(state, { recursive: true, force: true });
    },
    pid: () => host.status()[0].pid,
  };
  broker.subscribe(`plugin.inbound.${id}`, () => e.onEcho?.(), { bufferSize: 4096 });
  return e;
}

const raw = await measure("raw NDJSON echo child (baseline)", rawEchoer());
const rawPy = await measure("raw NDJSON echo child, Python (Python baseline)", rawEchoer("python3", RAW_PY));
rawPy.seq.ratio = `${((rawPy.seq.opsPerSec / raw.seq.opsPerSec) * 100).toFixed(0)}% of baseline`;
rawPy.pipe.ratio = `${((rawPy.pipe.opsPerSec / raw.pipe.opsPerSec) * 100).toFixed(0)}% of baseline`;
const cpuNotes: string[] = [`raw NDJSON echo child: ${raw.cpu}`, `raw Python echo child: ${rawPy.cpu}`];
const rows: Row[] = [raw.seq, rawPy.seq];
const pipeRows: Row[] = [raw.pipe, rawPy.pipe];
// BENCH_ONLY=python (comma-separated labels, lower case) runs only those SDK cases.
const only = process.env.BENCH_ONLY?.toLowerCase().split(",");
for (const [dir, id, label] of [
  ["echo-ts", "echo", "TypeScript"],
  ["echo-python", "echo_py", "Python"],
  ["echo-php", "echo_php", "PHP"],
  ["echo-rust", "echo_rust", "Rust"],
] as const) {
  if (only && !only.includes(label.toLowerCase())) continue;
  const r = await measure(`host -> ${dir} (${label}) -> host`, await hostEchoer(dir, id));
  // Each SDK against the raw child in its own language where the bench has one (Python), else the Node child.
  const base = label === "Python" ? rawPy : raw;
  const of = label === "Python" ? "of the Python baseline" : "of baseline";
  r.seq.ratio = `${((r.seq.opsPerSec / base.seq.opsPerSec) * 100).toFixed(0)}% ${of}`;
  r.pipe.ratio = `${((r.pipe.opsPerSec / base.pipe.opsPerSec) * 100).toFixed(0)}% ${of}`;
  rows.push(r.seq);
  pipeRows.push(r.pipe);
  cpuNotes.push(`${dir}: ${r.cpu}`);
}
printRows(`Round trips over stdio per SDK language (${SEQ} sequential, ${PIPE_TOTAL} pipelined), node ${process.version}`, [...rows, ...pipeRows]);
// CPU per event is what the throughput figures cannot show on a shared machine: it does not depend on the load.
console.log(`\nCPU per pipelined round trip (load average ${(await import("node:os")).loadavg()[0].toFixed(1)}):`);
for (const n of cpuNotes) console.log(`  ${n}`);

// Round trips host -> echo plugin -> host for each SDK language (TS, Python, PHP, Rust),
// beside the raw NDJSON baseline measured in the same run, and, per language that has
// one, a raw echo plugin (no SDK) under the same host: the SDK's ratio to the raw child
// of its own language is its cost.
// Run: npm run build && bash scripts/setup.sh && node --import tsx bench/roundtrip-polyglot.bench.ts
// Env: BENCH_SEQ (sequential round trips, default 5000), BENCH_PIPE (pipelined, default 50000),
// BENCH_LANGS (comma-separated labels, e.g. Python,PHP: only those languages).
// Besides throughput it prints the CPU each pipelined round trip costs the echo child and
// this process (driver, plus the host): unlike throughput, that does not depend on the load.
// Each case first runs WARMUP untimed round trips, so no case pays for JIT warm-up the others skip.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
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
const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const RAW = fileURLToPath(new URL("./fixtures/raw-echo.mjs", import.meta.url));

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
  const childUsed = processCpuMicros(e.pid()) - child0;
  const cpu = `${name}: child ${(childUsed / PIPE_TOTAL).toFixed(1)} µs/event, bench process ${((selfUsed.user + selfUsed.system) / PIPE_TOTAL).toFixed(1)} µs/event`;
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
function rawEchoer(): Echoer {
  const child = spawn(process.execPath, [RAW], { stdio: ["pipe", "pipe", "inherit"] });
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
  host.add({ manifest: loadManifest(dir, { nexoVersion: "0.1.0" }) });
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

/** One language: its SDK's echo example and, when there is one, its raw (no SDK) echo plugin. */
const LANGUAGES: Array<{ label: string; sdk: [dir: string, id: string]; raw?: [dir: string, id: string] }> = [
  { label: "TypeScript", sdk: [join(EXAMPLES, "echo-ts"), "echo"], raw: [join(FIXTURES, "raw-echo-node"), "raw_node"] },
  { label: "Python", sdk: [join(EXAMPLES, "echo-python"), "echo_py"], raw: [join(FIXTURES, "raw-echo-python"), "raw_python"] },
  { label: "PHP", sdk: [join(EXAMPLES, "echo-php"), "echo_php"], raw: [join(FIXTURES, "raw-echo-php"), "raw_php"] },
  { label: "Rust", sdk: [join(EXAMPLES, "echo-rust"), "echo_rust"], raw: [join(FIXTURES, "raw-echo-rust"), "raw_rust"] },
];
const ONLY = process.env.BENCH_LANGS?.split(",");

const raw = await measure("raw NDJSON echo child (baseline)", rawEchoer());
const cpuNotes: string[] = [raw.cpu];
const rows: Row[] = [raw.seq];
const pipeRows: Row[] = [raw.pipe];
const pct = (a: Row, b: Row): string => `${((a.opsPerSec / b.opsPerSec) * 100).toFixed(0)}%`;
for (const { label, sdk, raw: rawPlugin } of LANGUAGES) {
  let own = rawPlugin;
  if (ONLY && !ONLY.includes(label)) continue;
  if (own && !existsSync(join(own[0], "nexo-plugin.toml"))) own = undefined;
  // The raw Rust child is built here, not by scripts/setup.sh: only this bench needs it.
  if (own && existsSync(join(own[0], "Cargo.toml"))) {
    const built = spawnSync("cargo", ["build", "--release", "--quiet"], { cwd: own[0], stdio: "inherit" });
    if (built.status !== 0) throw new Error(`cargo build --release in ${own[0]} failed`);
  }
  let ownRaw: { seq: Row; pipe: Row; cpu: string } | undefined;
  if (own) {
    ownRaw = await measure(`host -> ${own[1]} (${label}, no SDK) -> host`, await hostEchoer(own[0], own[1]));
    ownRaw.seq.ratio = `${pct(ownRaw.seq, raw.seq)} of baseline`;
    ownRaw.pipe.ratio = `${pct(ownRaw.pipe, raw.pipe)} of baseline`;
    rows.push(ownRaw.seq);
    pipeRows.push(ownRaw.pipe);
    cpuNotes.push(ownRaw.cpu);
  }
  const r = await measure(`host -> ${sdk[0].split("/").pop()} (${label}) -> host`, await hostEchoer(sdk[0], sdk[1]));
  r.seq.ratio = `${pct(r.seq, raw.seq)} of baseline${ownRaw ? `, ${pct(r.seq, ownRaw.seq)} of raw ${label}` : ""}`;
  r.pipe.ratio = `${pct(r.pipe, raw.pipe)} of baseline${ownRaw ? `, ${pct(r.pipe, ownRaw.pipe)} of raw ${label}` : ""}`;
  rows.push(r.seq);
  pipeRows.push(r.pipe);
  cpuNotes.push(r.cpu);
}
printRows(`Round trips over stdio per SDK language (${SEQ} sequential, ${PIPE_TOTAL} pipelined), node ${process.version}`, [...rows, ...pipeRows]);
console.log(`\nCPU per pipelined round trip (load average at the end ${loadavg()[0].toFixed(1)} on ${(await import("node:os")).cpus().length} cores):`);
for (const n of cpuNotes) console.log(`  ${n}`);

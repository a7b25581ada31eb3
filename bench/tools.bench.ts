// Tool call latency and throughput: app.callTool -> TS SDK plugin -> back,
// on both wires, sequential and 64 in flight, beside the raw stdio round trip of a
// tool.invoke-sized frame measured in the same run (the floor any host can reach).
// Run: npm run build && node --import tsx bench/tools.bench.ts
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Nexo } from "../packages/nexo/src/app/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { loadManifest } from "../packages/nexo/src/manifest/index.js";
import { onFrames, printRows, summarize, type Row } from "./stats.js";

const SEQ = Number(process.env.BENCH_SEQ ?? 5000);
const PIPE_TOTAL = Number(process.env.BENCH_PIPE ?? 50_000);
const IN_FLIGHT = 64;
const WARMUP = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RAW = fileURLToPath(new URL("./fixtures/raw-echo.mjs", import.meta.url));
const PLUGIN = fileURLToPath(new URL("./fixtures/tool-echo-ts", import.meta.url));

const argsFor = (i: number) => ({ text: `hello ${i}`, n: i });

type Case = { name: string; call: (i: number) => Promise<unknown>; seqSamples: number[]; seqRates: number[]; pipeRates: number[] };

/** One round of a case: SEQ/ROUNDS calls one after the other (latency samples), then PIPE_TOTAL/ROUNDS with IN_FLIGHT outstanding. */
async function round(c: Case): Promise<void> {
  const seq = Math.ceil(SEQ / ROUNDS);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < seq; i++) {
    const s = process.hrtime.bigint();
    await c.call(i);
    c.seqSamples.push(Number(process.hrtime.bigint() - s));
  }
  c.seqRates.push(seq / (Number(process.hrtime.bigint() - t0) / 1e9));
  const total = Math.ceil(PIPE_TOTAL / ROUNDS);
  let next = 0;
  const p0 = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (next < total) await c.call(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  c.pipeRates.push(total / (Number(process.hrtime.bigint() - p0) / 1e9));
}

/**
 * Cases run interleaved, round after round, so a burst of load from other
 * processes (the machine is shared) hits every case alike. Reported: latency
 * percentiles over all rounds, and the best round's throughput (the least disturbed).
 */
async function measureAll(cases: Case[]): Promise<Array<{ seq: Row; pipe: Row }>> {
  for (const c of cases) for (let i = 0; i < WARMUP; i++) await c.call(i);
  for (let r = 0; r < ROUNDS; r++) for (const c of cases) await round(c);
  return cases.map((c) => ({
    seq: { name: `${c.name}, sequential`, opsPerSec: Math.max(...c.seqRates), ...summarize(c.seqSamples) },
    pipe: { name: `${c.name}, ${IN_FLIGHT} in flight`, opsPerSec: Math.max(...c.pipeRates) },
  }));
}

/** Baseline: a bare NDJSON echo child; each "call" writes one tool.invoke frame and awaits its line back (parsed). */
function rawBaseline(): { c: Case; close: () => void } {
  const child = spawn(process.execPath, [RAW], { stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map<number, () => void>();
  onFrames(child.stdout, (frame) => {
    const { id } = frame as { id: number };
    waiting.get(id)?.();
    waiting.delete(id);
  });
  let id = 0;
  const call = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: "2.0", id: n, method: "tool.invoke", params: { plugin_id: "bench", tool_name: "echo", args: argsFor(i), agent_id: null } })}\n`,
      );
    });
  return { c: newCase("raw NDJSON echo child (baseline)", call), close: () => child.stdin.end() };
}

const newCase = (name: string, call: (i: number) => Promise<unknown>): Case => ({ name, call, seqSamples: [], seqRates: [], pipeRates: [] });

const state = mkdtempSync(join(tmpdir(), "nexo-bench-"));
const app = new Nexo({ logger: silentLogger(), http: false, stateDir: state });
app.host.add({ manifest: loadManifest(PLUGIN, { nexoVersion: app.version }) });
app.register("echo_wf", (inputs) => inputs, { inputSchema: { type: "object", required: ["text"], properties: { text: { type: "string" } } } });
await app.start();
if (app.host.require("bench").currentState !== "ready")
  throw new Error(`bench plugin failed to start (did you run npm run build?): ${app.host.require("bench").status().lastError}`);
const raw = rawBaseline();
const [base, ...rows] = await measureAll([
  raw.c,
  newCase("host.invokeTool (host layer only, no registry)", (i) => app.host.invokeTool("bench", { tool_name: "echo", args: argsFor(i) })),
  newCase("app.callTool, tool.invoke wire", (i) => app.callTool("bench_echo", argsFor(i))),
  newCase("app.callTool, topic wire", (i) => app.callTool("bench_bench_echo", argsFor(i))),
  newCase("app.callTool, workflow tool (in-process)", (i) => app.callTool("echo_wf", argsFor(i))),
]);
raw.close();
await app.stop();
rmSync(state, { recursive: true, force: true });
for (const r of rows) {
  r.seq.ratio = `${((r.seq.opsPerSec / base.seq.opsPerSec) * 100).toFixed(0)}% of baseline`;
  r.pipe.ratio = `${((r.pipe.opsPerSec / base.pipe.opsPerSec) * 100).toFixed(0)}% of baseline`;
}
printRows(`Tool calls (${SEQ} sequential, ${PIPE_TOTAL} with ${IN_FLIGHT} in flight, in ${ROUNDS} interleaved rounds; ops/s = best round), node ${process.version}`, [
  base.seq,
  ...rows.map((r) => r.seq),
  base.pipe,
  ...rows.map((r) => r.pipe),
]);

// Tool call latency and throughput (issue 6): app.callTool -> TS SDK plugin -> back,
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
import { printRows, summarize, type Row } from "./stats.js";

const SEQ = Number(process.env.BENCH_SEQ ?? 5000);
const PIPE_TOTAL = Number(process.env.BENCH_PIPE ?? 50_000);
const IN_FLIGHT = 64;
const WARMUP = 500;
const RAW = fileURLToPath(new URL("./fixtures/raw-echo.mjs", import.meta.url));
const PLUGIN = fileURLToPath(new URL("./fixtures/tool-echo-ts", import.meta.url));

const argsFor = (i: number) => ({ text: `hello ${i}`, n: i });

/** Time `call` SEQ times one after the other, then PIPE_TOTAL times with IN_FLIGHT outstanding. */
async function measure(name: string, call: (i: number) => Promise<unknown>): Promise<{ seq: Row; pipe: Row }> {
  for (let i = 0; i < WARMUP; i++) await call(i);
  const samples: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < SEQ; i++) {
    const s = process.hrtime.bigint();
    await call(i);
    samples.push(Number(process.hrtime.bigint() - s));
  }
  const seqSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  let next = 0;
  const p0 = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (next < PIPE_TOTAL) await call(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const pipeSecs = Number(process.hrtime.bigint() - p0) / 1e9;
  return {
    seq: { name: `${name}, sequential`, opsPerSec: SEQ / seqSecs, ...summarize(samples) },
    pipe: { name: `${name}, ${IN_FLIGHT} in flight`, opsPerSec: PIPE_TOTAL / pipeSecs },
  };
}

/** Baseline: a bare NDJSON echo child; each "call" writes one tool.invoke frame and awaits its line back (parsed). */
async function rawBaseline(): Promise<{ seq: Row; pipe: Row }> {
  const child = spawn(process.execPath, [RAW], { stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map<number, () => void>();
  let buf = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) !== -1) {
      const frame = JSON.parse(buf.slice(0, nl)) as { id: number };
      buf = buf.slice(nl + 1);
      waiting.get(frame.id)?.();
      waiting.delete(frame.id);
    }
  });
  let id = 0;
  const call = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: n, method: "tool.invoke", params: { plugin_id: "bench", tool_name: "echo", args: argsFor(i), agent_id: null } })}\n`);
    });
  const rows = await measure("raw NDJSON echo child (baseline)", call);
  child.stdin.end();
  return rows;
}

async function withApp(): Promise<Array<{ seq: Row; pipe: Row }>> {
  const state = mkdtempSync(join(tmpdir(), "nexo-bench-"));
  const app = new Nexo({ logger: silentLogger(), http: false, stateDir: state });
  app.host.add({ manifest: loadManifest(PLUGIN, { nexoVersion: app.version }) });
  app.register("echo_wf", (inputs) => inputs, { inputSchema: { type: "object", required: ["text"], properties: { text: { type: "string" } } } });
  await app.start();
  if (app.host.require("bench").currentState !== "ready") throw new Error(`bench plugin failed to start (did you run npm run build?): ${app.host.require("bench").status().lastError}`);
  const rows = [
    await measure("host.invokeTool (host layer only, no registry)", (i) => app.host.invokeTool("bench", { tool_name: "echo", args: argsFor(i) })),
    await measure("app.callTool, tool.invoke wire", (i) => app.callTool("bench_echo", argsFor(i))),
    await measure("app.callTool, topic wire", (i) => app.callTool("bench_bench_echo", argsFor(i))),
    await measure("app.callTool, workflow tool (in-process)", (i) => app.callTool("echo_wf", argsFor(i))),
  ];
  await app.stop();
  rmSync(state, { recursive: true, force: true });
  return rows;
}

const raw = await rawBaseline();
const app = await withApp();
for (const r of app) {
  r.seq.ratio = `${((r.seq.opsPerSec / raw.seq.opsPerSec) * 100).toFixed(0)}% of baseline`;
  r.pipe.ratio = `${((r.pipe.opsPerSec / raw.pipe.opsPerSec) * 100).toFixed(0)}% of baseline`;
}
printRows(`Tool calls (${SEQ} sequential, ${PIPE_TOTAL} with ${IN_FLIGHT} in flight), node ${process.version}`, [raw.seq, ...app.map((r) => r.seq), raw.pipe, ...app.map((r) => r.pipe)]);

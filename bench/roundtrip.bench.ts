// Round trips host -> plugin -> host over stdio: the TS echo plugin and the
// Python echo plugin, each beside the same baseline measured in the same run:
// a raw NDJSON echo child driven by a bare line reader/writer, no SDK, no host logic.
// Run: npm run build && node --import tsx bench/roundtrip.bench.ts
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalBroker } from "../packages/nexo/src/broker/index.js";
import { newEvent, type Event } from "../packages/nexo/src/contract/index.js";
import { PluginHost } from "../packages/nexo/src/host/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { loadManifest } from "../packages/nexo/src/manifest/index.js";
import { onFrames, printRows, summarize, type Row } from "./stats.js";

const SEQ = Number(process.env.BENCH_SEQ ?? 5000);
const PIPE_TOTAL = Number(process.env.BENCH_PIPE ?? 50_000);
const IN_FLIGHT = 1000;
const RAW = fileURLToPath(new URL("./fixtures/raw-echo.mjs", import.meta.url));
const ECHO_TS = fileURLToPath(new URL("../examples/echo-ts", import.meta.url));
const ECHO_PY = fileURLToPath(new URL("../examples/echo-python", import.meta.url));
const PY_SEQ = Number(process.env.BENCH_PY_SEQ ?? SEQ);
const PY_PIPE_TOTAL = Number(process.env.BENCH_PY_PIPE ?? 20_000);

/** A sample payload like a small chat message event. */
function frameFor(i: number): string {
  const ev = newEvent("plugin.outbound.echo", "bench", { text: `hello ${i}`, n: i });
  return JSON.stringify({ jsonrpc: "2.0", method: "broker.event", params: { topic: ev.topic, event: ev } });
}

async function rawBaseline(): Promise<{ seq: Row; pipe: Row }> {
  const child = spawn(process.execPath, [RAW], { stdio: ["pipe", "pipe", "inherit"] });
  let onLine: (() => void) | null = null;
  let received = 0;
  onFrames(child.stdout, () => {
    received++;
    onLine?.();
  });
  // Warm-up, not measured (the host paths get the same).
  for (let i = 0; i < 200; i++) {
    await new Promise<void>((resolve) => {
      onLine = resolve;
      child.stdin.write(`${frameFor(i)}\n`);
    });
  }
  const samples: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < SEQ; i++) {
    const s = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      onLine = resolve;
      child.stdin.write(`${frameFor(i)}\n`);
    });
    samples.push(Number(process.hrtime.bigint() - s));
  }
  const seqSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  received = 0;
  const p0 = process.hrtime.bigint();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < PIPE_TOTAL && sent - received < IN_FLIGHT) child.stdin.write(`${frameFor(sent++)}\n`);
    };
    onLine = () => {
      if (received === PIPE_TOTAL) resolve();
      else pump();
    };
    pump();
  });
  const pipeSecs = Number(process.hrtime.bigint() - p0) / 1e9;
  child.stdin.end();
  return {
    seq: { name: "raw NDJSON echo child, sequential (baseline)", opsPerSec: SEQ / seqSecs, ...summarize(samples) },
    pipe: { name: `raw NDJSON echo child, ${IN_FLIGHT} in flight (baseline)`, opsPerSec: PIPE_TOTAL / pipeSecs },
  };
}

/** One echo plugin under a real PluginHost: `plugin.outbound.<kind>` in, `plugin.inbound.<kind>` back. */
async function hostEcho(label: string, dir: string, kind: string, seq: number, pipeTotal: number): Promise<{ seq: Row; pipe: Row }> {
  const state = mkdtempSync(join(tmpdir(), "nexo-bench-"));
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: state });
  host.add({ manifest: loadManifest(dir, { nexoVersion: "0.1.0" }) });
  const report = await host.startAll();
  if (report.failed.length) throw new Error(`${label} failed to start: ${report.failed[0].error} (did you run npm run build?)`);
  const out = `plugin.outbound.${kind}`;
  let onEvent: ((e: Event) => void) | null = null;
  let received = 0;
  broker.subscribe(
    `plugin.inbound.${kind}`,
    (e) => {
      received++;
      onEvent?.(e);
    },
    { bufferSize: 4096 },
  );
  // Warm-up (JIT, Python's first-call costs), not measured.
  for (let i = 0; i < 200; i++) {
    await new Promise<void>((resolve) => {
      onEvent = () => resolve();
      void broker.publish(out, newEvent(out, "bench", { text: "warm-up", n: i }));
    });
  }
  const samples: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < seq; i++) {
    const s = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      onEvent = () => resolve();
      void broker.publish(out, newEvent(out, "bench", { text: `hello ${i}`, n: i }));
    });
    samples.push(Number(process.hrtime.bigint() - s));
  }
  const seqSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  received = 0;
  let sent = 0;
  const p0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      // Stay under the host's stdin queue depth (64 unflushed frames) so nothing is dropped.
      while (sent < pipeTotal && sent - received < IN_FLIGHT) {
        void broker.publish(out, newEvent(out, "bench", { text: `hello ${sent}`, n: sent }));
        sent++;
      }
    };
    onEvent = () => {
      if (received === pipeTotal) resolve();
      else if (received % 64 === 0) pump();
    };
    pump();
  });
  const pipeSecs = Number(process.hrtime.bigint() - p0) / 1e9;
  const dropped = host.status()[0].droppedEvents;
  await host.stopAll();
  await broker.close();
  rmSync(state, { recursive: true, force: true });
  return {
    seq: { name: `host -> ${label} -> host, sequential`, opsPerSec: seq / seqSecs, ...summarize(samples) },
    pipe: { name: `host -> ${label} -> host, ${IN_FLIGHT} in flight${dropped ? ` (${dropped} dropped)` : ""}`, opsPerSec: pipeTotal / pipeSecs },
  };
}

const raw = await rawBaseline();
const ts = await hostEcho("echo-ts (SDK)", ECHO_TS, "echo", SEQ, PIPE_TOTAL);
const py = await hostEcho("echo-python (SDK)", ECHO_PY, "echo_py", PY_SEQ, PY_PIPE_TOTAL);
for (const r of [ts, py]) {
  r.seq.ratio = `${((r.seq.opsPerSec / raw.seq.opsPerSec) * 100).toFixed(0)}% of baseline`;
  r.pipe.ratio = `${((r.pipe.opsPerSec / raw.pipe.opsPerSec) * 100).toFixed(0)}% of baseline`;
}
printRows(`Round trips over stdio (${SEQ} sequential, ${PIPE_TOTAL} pipelined; Python ${PY_SEQ} / ${PY_PIPE_TOTAL}), node ${process.version}`, [
  raw.seq,
  ts.seq,
  py.seq,
  raw.pipe,
  ts.pipe,
  py.pipe,
]);

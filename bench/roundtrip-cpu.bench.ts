// CPU per round trip, host -> echo-ts (SDK) -> host, for each process: the
// figure that moves least when the machine is shared (wall-clock round trips
// swing with the load; the CPU each side spends per event much less).
// Host: process.cpuUsage; plugin: utime + stime from /proc/<pid>/stat (Linux).
// Run: npm run build && node --import tsx bench/roundtrip-cpu.bench.ts
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalBroker } from "../packages/nexo/src/broker/index.js";
import { newEvent } from "../packages/nexo/src/contract/index.js";
import { PluginHost } from "../packages/nexo/src/host/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { loadManifest } from "../packages/nexo/src/manifest/index.js";

const PIPE = Number(process.env.BENCH_PIPE ?? 100_000);
const SEQ = Number(process.env.BENCH_SEQ ?? 10_000);
const IN_FLIGHT = 1000;
const ECHO_TS = fileURLToPath(new URL("../examples/echo-ts", import.meta.url));
/** USER_HZ: the unit of /proc/<pid>/stat times on Linux. */
const CLOCK_TICKS = 100;

/** CPU the child has used, in µs (fields 14 and 15 of /proc/<pid>/stat, counted after the command name). */
function childCpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
}

function hostCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const state = mkdtempSync(join(tmpdir(), "nexo-bench-"));
const broker = new LocalBroker();
const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: state });
host.add({ manifest: loadManifest(ECHO_TS, { nexoVersion: "0.1.0" }) });
const report = await host.startAll();
if (report.failed.length) throw new Error(`echo-ts failed to start: ${report.failed[0].error} (did you run npm run build?)`);
const pid = host.status()[0].pid;
if (pid === null) throw new Error("echo-ts has no pid");
const out = "plugin.outbound.echo";
let onEvent: (() => void) | null = null;
let received = 0;
broker.subscribe(
  "plugin.inbound.echo",
  () => {
    received++;
    onEvent?.();
  },
  { bufferSize: 4096 },
);

async function pipelined(total: number): Promise<void> {
  received = 0;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      // Stay under the host's stdin queue depth so nothing is dropped.
      while (sent < total && sent - received < IN_FLIGHT) {
        void broker.publish(out, newEvent(out, "bench", { text: `hello ${sent}`, n: sent }));
        sent++;
      }
    };
    onEvent = () => {
      if (received === total) resolve();
      else if (received % 64 === 0) pump();
    };
    pump();
  });
}

async function sequential(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      onEvent = resolve;
      void broker.publish(out, newEvent(out, "bench", { text: `hello ${i}`, n: i }));
    });
  }
}

/** µs of CPU per event in the host and in the plugin while `run` handles `n` events. */
async function measure(n: number, run: (n: number) => Promise<void>): Promise<{ host: number; plugin: number }> {
  const h0 = hostCpuMicros();
  const p0 = childCpuMicros(pid!);
  await run(n);
  return { host: (hostCpuMicros() - h0) / n, plugin: (childCpuMicros(pid!) - p0) / n };
}

await pipelined(20_000); // warm-up (JIT), not measured
const pipe = await measure(PIPE, pipelined);
const seq = await measure(SEQ, sequential);
const dropped = host.status()[0].droppedEvents;
await host.stopAll();
await broker.close();
rmSync(state, { recursive: true, force: true });
console.log(`CPU per event, host -> echo-ts (SDK) -> host, node ${process.version}${dropped ? ` (${dropped} dropped)` : ""}`);
console.log(`  ${PIPE} pipelined (${IN_FLIGHT} in flight): host ${pipe.host.toFixed(2)} µs, plugin ${pipe.plugin.toFixed(2)} µs`);
console.log(`  ${SEQ} sequential: host ${seq.host.toFixed(2)} µs, plugin ${seq.plugin.toFixed(2)} µs`);

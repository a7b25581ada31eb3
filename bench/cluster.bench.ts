// Cluster paths in one run: events/s and publish -> handler p50/p99 through
// the local broker, NATS core (a queue group) and a durable path (JetStream),
// and a tool call from another daemon (NATS request/reply) beside the same
// call made on the daemon that runs the plugin. NATS core runs with the
// at-most-once loss accounting (the default) and without it.
// Run: npm run build && node --import tsx bench/cluster.bench.ts
// Needs nats-server (scripts/setup.sh installs it); it listens on loopback only.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Nexo } from "../packages/nexo/src/app/index.js";
import { LocalBroker, NatsBroker, type Broker } from "../packages/nexo/src/broker/index.js";
import { attachCluster } from "../packages/nexo/src/cluster/index.js";
import { clusterConfigFromYaml } from "../packages/nexo/src/config/index.js";
import { newEvent } from "../packages/nexo/src/contract/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { loadManifest } from "../packages/nexo/src/manifest/index.js";
import { startNatsServer } from "../packages/nexo/test/helpers/nats-server.js";
import { percentile, printRows, type Row } from "./stats.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const DURABLE_EVENTS = Number(process.env.BENCH_DURABLE_EVENTS ?? 5_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 2_000);
const IN_FLIGHT = 256;
const PLUGIN = fileURLToPath(new URL("./fixtures/tool-echo-ts", import.meta.url));

const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 1_000);

/**
 * Throughput: publish `n` events on `topic` with at most IN_FLIGHT publishes
 * outstanding (a durable publish waits for JetStream's ack; a core one does
 * not), first publish to last delivery. Latency: LATENCY_EVENTS more, one at
 * a time (publish, wait for the handler), so queueing does not count. The
 * subscriber on `sub` is in a queue group, as a plugin's delivery is.
 */
async function eventsCase(name: string, pub: Broker, sub: Broker, topic: string, n: number, settle: () => Promise<void>): Promise<Row> {
  let delivered = 0;
  let waiter: (() => void) | undefined;
  let target = n;
  let all: () => void = () => undefined;
  const allIn = new Promise<void>((r) => (all = r));
  const s = sub.subscribe(
    topic,
    () => {
      delivered++;
      if (delivered === target) all();
      waiter?.();
    },
    { queue: `bench:${name.replace(/[^a-z]/gi, "")}`, bufferSize: 65_536 },
  );
  await settle();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += IN_FLIGHT) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + IN_FLIGHT); j++) batch.push(pub.publish(topic, newEvent(topic, "bench", { i: j })));
    await Promise.all(batch);
  }
  await allIn;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const lat: number[] = [];
  for (let i = 0; i < LATENCY_EVENTS; i++) {
    target = -1;
    const got = new Promise<void>((r) => (waiter = r));
    const e = newEvent(topic, "bench", { i: n + i });
    const c0 = process.hrtime.bigint();
    await pub.publish(topic, e);
    await got;
    lat.push(Number(process.hrtime.bigint() - c0));
  }
  waiter = undefined;
  s.unsubscribe();
  lat.sort((a, b) => a - b);
  return { name, opsPerSec: n / secs, p50us: percentile(lat, 50) / 1000, p99us: percentile(lat, 99) / 1000 };
}

/** `calls` sequential tool calls: latency per call. */
async function callCase(name: string, app: Nexo, tool: string, calls: number): Promise<Row> {
  const lat: number[] = [];
  for (let i = 0; i < 100; i++) await app.callTool(tool, { text: `warm ${i}`, n: i });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const c0 = process.hrtime.bigint();
    await app.callTool(tool, { text: `hello ${i}`, n: i });
    lat.push(Number(process.hrtime.bigint() - c0));
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  return { name, opsPerSec: calls / secs, p50us: percentile(lat, 50) / 1000, p99us: percentile(lat, 99) / 1000 };
}

const dir = mkdtempSync(join(tmpdir(), "nexo-bench-cluster-"));
const server = (await startNatsServer(undefined, ["-js", "-sd", join(dir, "js")]))!;
const load0 = loadavg()[0];
const rows: Row[] = [];
try {
  const local = new LocalBroker({ defaultBufferSize: 65_536 });
  rows.push(await eventsCase("local broker (in-process), queue group", local, local, "bench.local", EVENTS, async () => undefined));
  await local.close();

  const durable = { patterns: ["bench.durable"], ackWaitMs: 30_000 };
  const pub = await NatsBroker.connect(server.url, { durable });
  const sub = await NatsBroker.connect(server.url, { durable });
  const settle = async (): Promise<void> => {
    await sub.flush();
    await pub.flush();
  };
  // The same path without the loss accounting's sync markers and sequence count: what the accounting costs.
  // The two alternate three times after an unrecorded warm-up, best of each kept: this machine is shared.
  const pubOff = await NatsBroker.connect(server.url, { lossAccounting: false });
  const subOff = await NatsBroker.connect(server.url, { lossAccounting: false });
  const settleOff = async (): Promise<void> => {
    await subOff.flush();
    await pubOff.flush();
  };
  await eventsCase("warm-up", pub, sub, "bench.warm", EVENTS / 4, settle);
  const on: Row[] = [];
  const off: Row[] = [];
  for (let round = 0; round < 3; round++) {
    on.push(await eventsCase("NATS core, queue group (at most once)", pub, sub, "bench.core", EVENTS, settle));
    off.push(await eventsCase("NATS core, queue group, loss accounting off", pubOff, subOff, "bench.coreoff", EVENTS, settleOff));
  }
  const best = (r: Row[]): Row => r.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
  rows.push(best(on), best(off));
  await pubOff.close();
  await subOff.close();
  rows.push(await eventsCase("durable path, JetStream (at least once)", pub, sub, "bench.durable", DURABLE_EVENTS, settle));
  await pub.close();
  await sub.close();

  // Daemon C runs the plugin; daemon A calls it across NATS.
  const cBroker = await NatsBroker.connect(server.url);
  const aBroker = await NatsBroker.connect(server.url);
  const c = new Nexo({ broker: cBroker, logger: silentLogger(), http: false, stateDir: join(dir, "c") });
  const a = new Nexo({ broker: aBroker, logger: silentLogger(), http: false, stateDir: join(dir, "a") });
  attachCluster(c, clusterConfigFromYaml({ node_id: "c" }));
  attachCluster(a, clusterConfigFromYaml({ node_id: "a" }));
  c.host.add({ manifest: loadManifest(PLUGIN, { nexoVersion: c.version }) });
  await c.start();
  await a.start();
  for (let i = 0; i < 500 && !a.getTool("bench_echo"); i++) await new Promise((r) => setTimeout(r, 10));
  if (!a.getTool("bench_echo")) throw new Error("the bench plugin's tool never reached daemon A (did you run npm run build?)");
  rows.push(await callCase("tool call on the plugin's daemon (local)", c, "bench_echo", CALLS));
  rows.push(await callCase("tool call from another daemon (NATS request/reply)", a, "bench_echo", CALLS));
  await Promise.all([a.stop(), c.stop()]);
  await Promise.all([aBroker.close(), cBroker.close()]);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
const [localRow, coreRow, coreOffRow, durableRow, toolLocal, toolRemote] = rows;
toolLocal.ratio = "";
toolRemote.ratio = `${((toolRemote.opsPerSec / toolLocal.opsPerSec) * 100).toFixed(0)}% of local`;
coreRow.ratio = `${((coreRow.opsPerSec / localRow.opsPerSec) * 100).toFixed(0)}% of local broker, ${((coreRow.opsPerSec / coreOffRow.opsPerSec) * 100).toFixed(0)}% of accounting off`;
coreOffRow.ratio = `${((coreOffRow.opsPerSec / localRow.opsPerSec) * 100).toFixed(0)}% of local broker`;
durableRow.ratio = `${((durableRow.opsPerSec / localRow.opsPerSec) * 100).toFixed(0)}% of local broker`;
printRows(`Cluster paths (load average ${load0.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end)`, rows);

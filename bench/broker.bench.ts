// LocalBroker publish-to-deliver, beside a bare callback loop.
// Run: node --import tsx bench/broker.bench.ts
import { LocalBroker } from "../packages/nexo/src/broker/index.js";
import { newEvent, type Event } from "../packages/nexo/src/contract/index.js";
import { printRows, summarize, type Row } from "./stats.js";

const TARGET_DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 20_000_000);
const BATCH = 256; // events published before yielding, so delivery (microtask) interleaves with publishing

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Bare baseline: the same number of function calls per event, no broker. */
async function baseline(fanout: number, events: number): Promise<number> {
  const fns: Array<(e: Event) => void> = [];
  let sink = 0;
  for (let i = 0; i < fanout; i++) fns.push((e) => void (sink += (e.payload as number) & 1));
  const ev = newEvent("plugin.outbound.echo", "bench", 1);
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < events; n += BATCH) {
    for (let b = 0; b < BATCH; b++) for (let i = 0; i < fns.length; i++) fns[i](ev);
    await tick();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink < 0) console.log(sink);
  return (events * fanout) / secs;
}

/**
 * `subs` subscriptions; `matching` of them match each published event (the rest
 * are distinct patterns that must be skipped). Latency is publish -> handler,
 * sampled on the last matching subscriber.
 */
async function brokerCase(subs: number, matching: number, events: number): Promise<{ rate: number; p50us: number; p99us: number }> {
  const broker = new LocalBroker({ defaultBufferSize: BATCH * 2 });
  let delivered = 0;
  let sentAt: bigint[] = [];
  const samples: number[] = [];
  const shapes = ["plugin.outbound.echo", "plugin.outbound.*", "plugin.*.echo", "plugin.>"];
  for (let i = 0; i < matching; i++) {
    const last = i === matching - 1;
    broker.subscribe(
      shapes[i % shapes.length],
      last
        ? (e) => {
            delivered++;
            samples.push(Number(process.hrtime.bigint() - sentAt[e.payload as number]));
          }
        : () => void delivered++,
    );
  }
  for (let i = matching; i < subs; i++) broker.subscribe(`plugin.outbound.kind${i}`, () => void delivered++);
  // Events are built before timing: this measures the broker, not UUID generation.
  const pool = Array.from({ length: BATCH }, (_, i) => newEvent("plugin.outbound.echo", "bench", i));
  sentAt = new Array<bigint>(BATCH);
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < events; n += BATCH) {
    for (let b = 0; b < BATCH; b++) {
      sentAt[b] = process.hrtime.bigint();
      await broker.publish("plugin.outbound.echo", pool[b]);
    }
    await tick();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (delivered !== events * matching) throw new Error(`lost deliveries: ${delivered} of ${events * matching}`);
  await broker.close();
  return { rate: delivered / secs, ...summarize(samples) };
}

const rows: Row[] = [];
for (const [subs, matching] of [
  [1, 1],
  [100, 100],
  [10_000, 10_000],
  [10_000, 4],
] as const) {
  const events = Math.ceil(Math.max(2048, TARGET_DELIVERIES / 4 / matching) / BATCH) * BATCH;
  await brokerCase(subs, matching, Math.min(events, 20_480)); // warm-up
  const base = await baseline(matching, events);
  const r = await brokerCase(subs, matching, events);
  const label = matching === subs ? `${subs} subscriptions, all match` : `${subs} subscriptions, ${matching} match`;
  rows.push({ name: `bare callback loop, ${matching} calls/event (baseline)`, opsPerSec: base });
  rows.push({ name: `LocalBroker, ${label}`, opsPerSec: r.rate, p50us: r.p50us, p99us: r.p99us, ratio: `${((r.rate / base) * 100).toFixed(0)}% of baseline` });
}
printRows(`LocalBroker deliveries per second, node ${process.version}`, rows);

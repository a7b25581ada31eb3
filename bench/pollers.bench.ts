// YAML-only pollers: 100 feeds polled every second from a
// loopback fake, CPU % of this process and items/s, beside a baseline in the
// same run: the same fetch loop with a bare setInterval + fetch + JSON.parse +
// a Set of seen ids, no poller logic (no store, leases, breaker, broker).
// Run: node --import tsx bench/pollers.bench.ts   (BENCH_FEEDS, BENCH_SECS to change the load)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalBroker } from "../packages/nexo/src/broker/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { normalizePollersConfig, PollerService } from "../packages/nexo/src/pollers/index.js";

const FEEDS = Number(process.env.BENCH_FEEDS ?? 100);
const SECS = Number(process.env.BENCH_SECS ?? 15);
const WARMUP_MS = 3000;
const SERVER = fileURLToPath(new URL("./fixtures/feed-server.mjs", import.meta.url));

interface Figures {
  cpuPercent: number;
  itemsPerSec: number;
  requestsPerSec: number;
}

/** CPU (user + system) of this process as % of one core, and counters per second, over `SECS` after a warm-up. */
async function measure(counters: { items: number; requests: number }): Promise<Figures> {
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const items0 = counters.items;
  const req0 = counters.requests;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, SECS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  return {
    cpuPercent: ((cpu.user + cpu.system) / wallUs) * 100,
    itemsPerSec: ((counters.items - items0) * 1e6) / wallUs,
    requestsPerSec: ((counters.requests - req0) * 1e6) / wallUs,
  };
}

async function baseline(base: string): Promise<Figures> {
  const counters = { items: 0, requests: 0 };
  const seen = Array.from({ length: FEEDS }, () => new Set<string>());
  const timers = Array.from({ length: FEEDS }, (_, n) =>
    setInterval(async () => {
      try {
        const res = await fetch(`${base}/feed/${n}`);
        const items = (await res.json()) as Array<{ id: string }>;
        counters.requests += 1;
        for (const it of items) {
          if (seen[n].has(it.id)) continue;
          seen[n].add(it.id);
          counters.items += 1;
        }
      } catch {
        // counted as no items
      }
    }, 1000),
  );
  const figures = await measure(counters);
  for (const t of timers) clearInterval(t);
  return figures;
}

async function pollers(base: string): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), "nexo-bench-pollers-"));
  const broker = new LocalBroker();
  const counters = { items: 0, requests: 0 };
  broker.subscribe("plugin.inbound.poller.>", () => void (counters.items += 1), { bufferSize: 100_000 });
  const config = normalizePollersConfig(
    {
      allow_private_networks: true,
      max_concurrency: 32,
      jobs: Array.from({ length: FEEDS }, (_, n) => ({ id: `feed${n}`, kind: "webhook_poll", schedule: { every_secs: 1 }, config: { url: `${base}/feed/${n}` } })),
    },
    null,
    "/",
  );
  const service = new PollerService({ config, broker, logger: silentLogger(), defaultStoreUrl: `sqlite:${join(dir, "pollers.db")}` });
  await service.start();
  // First runs deliver each feed's 20-item backlog: let the warm-up absorb them, then count steady state.
  const runs = (): number => service.stats().reduce((a, s) => a + s.runs, 0);
  const probe = setInterval(() => (counters.requests = runs()), 100);
  const figures = await measure(counters);
  clearInterval(probe);
  const stats = service.stats();
  const errors = stats.reduce((a, s) => a + Object.values(s.errors).reduce((x, y) => x + (y ?? 0), 0), 0);
  await service.stop();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
  if (errors > 0) console.warn(`pollers: ${errors} run errors during the benchmark`);
  return figures;
}

async function main(): Promise<void> {
  const server = spawn(process.execPath, [SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => server.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
  const base = `http://127.0.0.1:${port}`;
  try {
    console.log(`${FEEDS} feeds at 1 s interval, ${SECS} s measured after ${WARMUP_MS / 1000} s warm-up (fake feeds in a separate process)`);
    const b = await baseline(base);
    const p = await pollers(base);
    const row = (name: string, f: Figures): string =>
      `${name.padEnd(44)} ${f.cpuPercent.toFixed(1).padStart(8)} ${f.itemsPerSec.toFixed(1).padStart(9)} ${f.requestsPerSec.toFixed(1).padStart(10)}`;
    console.log(`${"case".padEnd(44)} ${"CPU %".padStart(8)} ${"items/s".padStart(9)} ${"runs/s".padStart(10)}`);
    console.log(row("baseline: setInterval + fetch + Set (no logic)", b));
    console.log(row("PollerService (SQLite store, broker publish)", p));
    console.log(`CPU ratio pollers / baseline: ${(p.cpuPercent / b.cpuPercent).toFixed(2)}x`);
  } finally {
    server.kill();
  }
}

await main();

// HTTP API throughput: POST /workflows/echo/execute on
//   (c) a bare fastify server returning the body (baseline),
//   (a) a Nexo app with no plugins,
//   (b) a Nexo app with Auth (api_key) + RateLimit (never refusing) + Monitoring + Caching,
//   (b') the same, every request with new inputs (all cache misses),
//   (d) (b) + the authorization gate (docs/authorization.md), every decision written to the audit trail,
//   (e) (d) + an Idempotency-Key on every request, a new one each (each request is kept as a run in the store),
//   (c') reference: bare fastify holding its replies to the end of the event-loop turn as Nexo's execute route
//        does (docs/adr/0045-replies-leave-at-turn-end.md): what that technique alone is worth.
// Each server runs in its own process; the load generator is autocannon
// (keep-alive, CONNECTIONS connections, no pipelining) over loopback.
// Rounds interleave the cases; the median round per case is reported.
// Run: npm run build && node --import tsx bench/http.bench.ts   (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_WARMUP_REQUESTS)
// BENCH_RATE=15000 offers every case the same load (requests/s, autocannon's overallRate) instead of
// as much as it takes: CPU per request then compares servers at equal throughput, where a faster
// server does not also get a busier (cheaper to wake) load generator.
// BENCH_ONLY="auth caching,monitoring" adds a case per space-separated set of plugins after those,
// to size each plugin's cost (plugins: auth, rate_limit, monitoring, caching, authz, authz_denied, no_security_headers, no_ratelimit_headers).
// The servers import the built packages/nexo/dist, as `nexo run` does.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Each server is warmed up with at least this many requests (1 s at least, 10 s at most) before it is measured. */
const WARMUP_REQUESTS = Number(process.env.BENCH_WARMUP_REQUESTS ?? 5000);
const WARMUP_MAX_SECONDS = 10;
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const SERVER = fileURLToPath(new URL("./fixtures/http-server.ts", import.meta.url));
const API_KEY = "bench-api-key-0123456789abcdef";
const BODY = JSON.stringify({ text: "hello", n: 42, tags: ["a", "b"] });

interface Case {
  name: string;
  /** Server mode of fixtures/http-server.ts: bare, bare-held, nexo, nexo-all, or nexo:<plugin,...>. */
  mode: string;
  headers: Record<string, string>;
  uniqueInputs?: boolean;
  /** Send a new Idempotency-Key with every request. */
  idempotencyKeys?: boolean;
}

const CASES: Case[] = [
  { name: "(c) bare fastify, same JSON (baseline)", mode: "bare", headers: {} },
  { name: "(a) nexo, no plugins", mode: "nexo", headers: {} },
  { name: "(b) nexo + auth + rate limit + monitoring + caching", mode: "nexo-all", headers: { "x-api-key": API_KEY } },
  { name: "(b') same, unique inputs (cache misses)", mode: "nexo-all", headers: { "x-api-key": API_KEY }, uniqueInputs: true },
  { name: "(d) (b) + authorization gate, every decision audited", mode: "nexo:auth,rate_limit,monitoring,caching,authz", headers: { "x-api-key": API_KEY } },
  { name: "(e) (d) + a new Idempotency-Key per request", mode: "nexo:auth,rate_limit,monitoring,caching,authz", headers: { "x-api-key": API_KEY }, idempotencyKeys: true },
  { name: "(c') bare fastify, replies held to the turn's end (reference)", mode: "bare-held", headers: {} },
  ...(process.env.BENCH_ONLY ?? "")
    .split(" ")
    .filter(Boolean)
    .map((p): Case => ({ name: `(+) nexo + ${p.replaceAll(",", " + ")}`, mode: `nexo:${p}`, headers: { "x-api-key": API_KEY } })),
];

interface Server {
  child: ChildProcess;
  port: number;
  /** The server process's CPU time so far, in µs. */
  cpu: () => Promise<number>;
}

async function startServer(mode: string): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER, mode], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const waiters: Array<(cpu: number) => void> = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
      for (let c; (c = /CPU (\d+)[^\n]*\n/.exec(out));) {
        out = out.slice(c.index + c[0].length);
        waiters.shift()?.(Number(c[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`server ${mode} exited with ${code}`)));
  });
  const cpu = () =>
    new Promise<number>((resolve) => {
      waiters.push(resolve);
      child.kill("SIGUSR2");
    });
  return { child, port, cpu };
}

async function stopServer(child: ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}

function load(port: number, c: Case, seconds: number): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    ...(RATE !== undefined ? { overallRate: RATE } : {}),
    requests: [
      {
        method: "POST",
        path: "/workflows/echo/execute",
        headers: { "content-type": "application/json", ...c.headers },
        ...(c.uniqueInputs
          ? { setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ text: "hello", n: n++, tags: ["a", "b"] }) }) }
          : c.idempotencyKeys
            ? { body: BODY, setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, "idempotency-key": `"bench-${process.pid}-${n++}"` } }) }
            : { body: BODY }),
      },
    ],
  });
}

type Run = autocannon.Result & { cpuPerRequestUs: number };
const results = new Map<string, Run[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const c of CASES) {
    const server = await startServer(c.mode);
    try {
      // Warm-up (JIT, connection setup, caches) by requests served, not only by time: a slow case
      // (a store write per request) served a few hundred requests in a 1 s warm-up and was then
      // measured while V8 still ran most of the path unoptimized.
      for (let served = 0, s = 0; s < WARMUP_MAX_SECONDS && (s === 0 || served < WARMUP_REQUESTS); s++) served += (await load(server.port, c, 1)).requests.total;
      const cpu0 = await server.cpu();
      const r = await load(server.port, c, SECONDS);
      const cpu1 = await server.cpu();
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${c.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      results.set(c.name, [...(results.get(c.name) ?? []), Object.assign(r, { cpuPerRequestUs: (cpu1 - cpu0) / r.requests.total })]);
    } finally {
      await stopServer(server.child);
    }
  }
}

const median = (rs: Run[]) => [...rs].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(rs.length / 2)];
const medianCpu = (rs: Run[]) => [...rs].map((r) => r.cpuPerRequestUs).sort((a, b) => a - b)[Math.floor(rs.length / 2)];
const baseline = median(results.get(CASES[0].name)!).requests.average;
const baseCpu = medianCpu(results.get(CASES[0].name)!);
console.log(
  `\nPOST /workflows/echo/execute, ${CONNECTIONS} keep-alive connections, ${SECONDS} s x ${ROUNDS} rounds (median round), ${RATE === undefined ? "as fast as each server answers" : `${RATE} requests/s offered to each`}, Node ${process.version}`,
);
console.log(`${"case".padEnd(60)} ${"req/s".padStart(9)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)}  vs (c)`);
for (const c of CASES) {
  const r = median(results.get(c.name)!);
  // autocannon measures latency in whole milliseconds.
  console.log(
    `${c.name.padEnd(60)} ${Math.round(r.requests.average).toLocaleString("en-US").padStart(9)} ${String(r.latency.p50).padStart(7)} ${String(r.latency.p99).padStart(7)}  ${((r.requests.average / baseline) * 100).toFixed(0)}%`,
  );
}
console.log("\nserver CPU per request (median round; load generator excluded):");
for (const c of CASES) {
  const us = medianCpu(results.get(c.name)!);
  console.log(`  ${c.name.padEnd(60)} ${us.toFixed(1).padStart(7)} µs   ${((baseCpu / us) * 100).toFixed(0)}% of baseline efficiency`);
}

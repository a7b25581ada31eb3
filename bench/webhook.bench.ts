// Webhook path (pattern 2): requests/s and latency through the daemon's reverse
// proxy vs straight to the plugin's own port, same run, same load generator.
// Daemon: a real `nexo run` child with examples/webhook-receiver-ts (itself a child of the daemon).
// Load generator: this process, node:http with a keep-alive Agent, CONNECTIONS sockets each
// running one request at a time back to back for DURATION_MS (after a warm-up).
// Second baseline: fixtures/bare-proxy.mjs, the least a node:http reverse proxy can do, so the
// cost of Nexo's proxy logic shows apart from the cost of any extra hop on a 2-core machine.
// Run: npm run build && node --import tsx bench/webhook.bench.ts
import { execSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ControlClient, ControlMethods } from "../packages/nexo/src/surfaces/control/index.js";
import { printRows, summarize, type Row } from "./stats.js";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const NEXO = fileURLToPath(new URL("../packages/nexo/bin/nexo.js", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../examples", import.meta.url));
const BARE_PROXY = fileURLToPath(new URL("./fixtures/bare-proxy.mjs", import.meta.url));
const TICKS = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}
const BODY = JSON.stringify({ event: "push", repository: "nexo", sender: { login: "ada" }, commits: [{ id: "abc123", message: "fix the proxy" }] });

interface Target {
  url: string;
  method: "GET" | "POST";
  body?: string;
}

/** CONNECTIONS loops of back-to-back requests over keep-alive sockets; every answer must have `expect` status. */
async function load(target: Target, durationMs: number, expect: number): Promise<{ rps: number; samples: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const u = new URL(target.url);
  const headers: Record<string, string | number> = target.body ? { "content-type": "application/json", "content-length": Buffer.byteLength(target.body) } : {};
  const samples: number[] = [];
  const end = Date.now() + durationMs;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: target.method, headers, agent }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== expect) return reject(new Error(`${target.method} ${target.url}: status ${res.statusCode}, expected ${expect}`));
          samples.push(Number(process.hrtime.bigint() - t0));
          resolve();
        });
      });
      req.on("error", reject);
      req.end(target.body);
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  return { rps: samples.length / secs, samples };
}

/** Result of one case over every round. */
interface CaseResult extends Row {
  cpuUsPerRequest?: number;
}

/**
 * Run every case ROUNDS times, interleaved (case A, B, C, A, B, C, ...) so a
 * noisy neighbour hits all of them alike. Reported: the median round's
 * requests/s, latency percentiles over all rounds, and the CPU the proxy
 * process (`cpuPid`) spent per request over all rounds.
 */
async function runCases(cases: Array<{ name: string; target: Target; expect: number; cpuPid?: number }>): Promise<CaseResult[]> {
  const rps: number[][] = cases.map(() => []);
  const samples: number[][] = cases.map(() => []);
  const cpu = cases.map(() => ({ secs: 0, requests: 0 }));
  for (const c of cases) await load(c.target, WARMUP_MS, c.expect);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, c] of cases.entries()) {
      const cpu0 = c.cpuPid ? cpuSeconds(c.cpuPid) : 0;
      const out = await load(c.target, DURATION_MS, c.expect);
      if (c.cpuPid) {
        cpu[i].secs += cpuSeconds(c.cpuPid) - cpu0;
        cpu[i].requests += out.samples.length;
      }
      rps[i].push(out.rps);
      for (const s of out.samples) samples[i].push(s); // not push(...): a quiet machine yields more samples than the call stack takes
    }
  }
  return cases.map((c, i) => ({
    name: c.name,
    opsPerSec: rps[i].sort((a, b) => a - b)[Math.floor(rps[i].length / 2)],
    ...summarize(samples[i]),
    ...(c.cpuPid ? { cpuUsPerRequest: (cpu[i].secs / cpu[i].requests) * 1e6 } : {}),
  }));
}

function startBareProxy(port: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BARE_PROXY, port], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => child.stdout!.once("data", (d: Buffer) => resolve({ child, url: `http://127.0.0.1:${d.toString().trim()}/webhook/demo` })));
}

const pct = (a: Row, b: Row): string => `${((a.opsPerSec / b.opsPerSec) * 100).toFixed(0)}%`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nexo-bench-webhook-"));
  const config = join(dir, "nexo.yaml");
  const socket = join(dir, "state", "nexo.sock");
  writeFileSync(
    config,
    [
      `state_dir: ${join(dir, "state")}`,
      "log_level: warn",
      `plugin_paths: [${JSON.stringify(EXAMPLES)}]`,
      "plugins:",
      "  webhook:",
      "    config: { max_body_bytes: 65536 }",
      "api:",
      "  port: 0",
      "",
    ].join("\n"),
  );
  const daemon = spawn(process.execPath, [NEXO, "run", "--config", config], { stdio: ["ignore", "inherit", "inherit"] });
  try {
    let client: ControlClient | undefined;
    for (let i = 0; i < 300 && !client; i++) {
      client = await ControlClient.connect(socket).catch(() => undefined);
      if (!client) await new Promise((r) => setTimeout(r, 100));
    }
    if (!client) throw new Error("the daemon did not open its control socket");
    let route = "";
    let api = "";
    // The route can be ready a moment before the API listens: wait for both.
    for (let i = 0; i < 300 && !(route.endsWith("(ready)") && api); i++) {
      const info = (await client.request(ControlMethods.INFO)) as { api: string | null };
      api = info.api ?? "";
      const status = (await client.request(ControlMethods.PLUGIN_STATUS, { key: "webhook" }).catch(() => ({}))) as { route?: string };
      route = status.route ?? "";
      if (!(route.endsWith("(ready)") && api)) await new Promise((r) => setTimeout(r, 100));
    }
    client.close();
    const port = /-> 127\.0\.0\.1:(\d+)/.exec(route)?.[1];
    if (!port || !api) throw new Error(`webhook route not ready: ${route}`);
    const direct = `http://127.0.0.1:${port}`;
    const proxied = `${api}/webhook/demo`;
    console.log(
      `daemon API ${api}, plugin port ${port}; ${CONNECTIONS} keep-alive connections; ${ROUNDS} interleaved rounds of ${DURATION_MS} ms per case after a ${WARMUP_MS} ms warm-up each`,
    );

    const bare = await startBareProxy(port);
    try {
      const rows: Row[] = [];
      const cpu: string[] = [];
      for (const [label, path, method, body, expect] of [
        ["POST JSON", "/", "POST", BODY, 202],
        ["GET /health", "/health", "GET", undefined, 200],
      ] as const) {
        const t = (base: string): Target => ({ url: `${base}${path}`, method, ...(body ? { body } : {}) });
        const [d, b, n] = await runCases([
          { name: `${label} -> plugin port (baseline)`, target: t(direct), expect },
          { name: `${label} -> bare node:http proxy -> plugin`, target: t(bare.url), expect, cpuPid: bare.child.pid! },
          { name: `${label} -> nexo daemon proxy -> plugin`, target: t(proxied), expect, cpuPid: daemon.pid! },
        ]);
        rows.push(d, { ...b, ratio: `${pct(b, d)} of direct` }, { ...n, ratio: `${pct(n, d)} of direct, ${pct(n, b)} of bare proxy` });
        cpu.push(`${label}: proxy CPU per request — bare ${b.cpuUsPerRequest!.toFixed(0)} µs, nexo daemon ${n.cpuUsPerRequest!.toFixed(0)} µs`);
      }
      printRows("Webhook path: through the daemon's reverse proxy vs the plugin's own port", rows);
      console.log(`\n${cpu.join("\n")}`);
      console.log(
        "POST publishes one event per request (plugin -> daemon over stdio, acked) in every case, so the daemon's CPU for POST includes receiving it; GET /health is the proxy alone.",
      );
    } finally {
      bare.child.kill();
    }
  } finally {
    daemon.kill("SIGTERM");
    await new Promise((r) => daemon.once("close", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// CLI start-up: wall time of `nexo --version`, `publish`, `tail` (until its
// subscription is live) and `plugin list` against a running empty daemon, beside
// `node -e 0` measured in the same run. Each run is a fresh process, as a user's is.
// Run: node --import tsx bench/cli-startup.bench.ts
//   NEXO_BIN=<path to bin/nexo.js or an installed `nexo`> to measure another copy
//   (default: this checkout's packages/nexo/bin/nexo.js; build it first);
//   BENCH_RUNS=<n> runs per command (default 21).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile } from "./stats.js";

const BIN = process.env.NEXO_BIN ?? fileURLToPath(new URL("../packages/nexo/bin/nexo.js", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 21);

/** argv for running the binary: a .js file through this node, anything else (an installed `nexo` link) as is. */
const nexo = (args: string[]): [string, string[]] => (BIN.endsWith(".js") ? [process.execPath, [BIN, ...args]] : [BIN, args]);

/** Spawn, and resolve with the elapsed ms once `done` says so (default: the process exited 0). */
function timeOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv, untilStderr?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    child.stderr.on("data", (d) => {
      err += d;
      if (untilStderr && err.includes(untilStderr)) {
        const ms = elapsed();
        child.kill();
        resolve(ms);
      }
    });
    child.on("close", (code) => {
      if (untilStderr) return reject(new Error(`${args.join(" ")} exited (${code}) before printing ${untilStderr}: ${err}`));
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`));
      resolve(elapsed());
    });
  });
}

async function measure(name: string, run: () => Promise<number>): Promise<{ name: string; p50: number; min: number; p90: number }> {
  await run(); // warm the file cache
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) ms.push(await run());
  ms.sort((a, b) => a - b);
  return { name, p50: percentile(ms, 50), min: ms[0], p90: percentile(ms, 90) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nexo-cli-bench-"));
  const config = join(dir, "nexo.yaml");
  writeFileSync(config, `state_dir: ${join(dir, "state")}\napi: { enabled: false }\nlog_level: warn\n`);
  const socket = join(dir, "state", "nexo.sock");
  const [dcmd, dargs] = nexo(["run", "--config", config]);
  const daemon = spawn(dcmd, dargs, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    // The daemon is up once the CLI can talk to it.
    const env = { NEXO_SOCKET: socket };
    for (let i = 0; ; i++) {
      const [c, a] = nexo(["plugin", "list"]);
      try {
        await timeOnce(c, a, env);
        break;
      } catch (err) {
        if (i > 200) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const rows = [await measure("node -e 0 (baseline)", () => timeOnce(process.execPath, ["-e", "0"], {}))];
    for (const [name, args, until] of [
      ["nexo --version", ["--version"]],
      ["nexo publish", ["publish", "bench.cli", '{"n":1}']],
      ["nexo tail (until subscribed)", ["tail", "bench.>"], "tailing"],
      ["nexo plugin list", ["plugin", "list"]],
    ] as Array<[string, string[], string?]>) {
      const [c, a] = nexo(args);
      rows.push(await measure(name, () => timeOnce(c, a, env, until)));
    }
    const base = rows[0].p50;
    console.log(
      `\nCLI start-up, ${RUNS} runs each, binary ${BIN}; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    console.log(`${"command".padEnd(30)} ${"p50 ms".padStart(8)} ${"min ms".padStart(8)} ${"p90 ms".padStart(8)}  over baseline (p50)`);
    for (const r of rows)
      console.log(
        `${r.name.padEnd(30)} ${r.p50.toFixed(0).padStart(8)} ${r.min.toFixed(0).padStart(8)} ${r.p90.toFixed(0).padStart(8)}  ${r === rows[0] ? "" : `+${(r.p50 - base).toFixed(0)} ms`}`,
      );
  } finally {
    daemon.kill("SIGTERM");
    await new Promise((r) => daemon.once("close", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// The cost of the plugin sandbox (bubblewrap + rlimits): start-up time (spawn to
// `initialize` answered) and the tool-call round trip, sandboxed and not, the
// cases interleaved in the same run so load from other processes hits both alike.
// Run: node --import tsx bench/sandbox.bench.ts  (needs bwrap: scripts/setup.sh)
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalBroker } from "../packages/nexo/src/broker/index.js";
import { PluginHost } from "../packages/nexo/src/host/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { loadManifest, type PluginManifest } from "../packages/nexo/src/manifest/index.js";
import { NEXO_VERSION } from "../packages/nexo/src/version.js";
import { printRows, summarize, type Row } from "./stats.js";

const STARTS = Number(process.env.BENCH_STARTS ?? 20);
const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const ROUNDS = 5;
const PROBE = fileURLToPath(new URL("../packages/nexo/test/fixtures/plugins/sandbox-probe.mjs", import.meta.url));

const root = mkdtempSync(join(tmpdir(), "nexo-bench-sandbox-"));
chmodSync(root, 0o755);

function plugin(id: string, sandboxed: boolean): PluginManifest {
  const dir = join(root, "plugins", id);
  mkdirSync(dir, { recursive: true });
  copyFileSync(PROBE, join(dir, "probe.mjs"));
  const lines = ["[plugin]", `id = "${id}"`, 'version = "0.1.0"', "[plugin.entrypoint]", `command = "${process.execPath}"`, 'args = ["probe.mjs"]', "[plugin.extends]", 'tools = ["echo"]'];
  if (sandboxed) lines.push("[plugin.sandbox]", "enabled = true", 'fs_write_paths = ["${state_dir}"]');
  writeFileSync(join(dir, "plugin.toml"), lines.join("\n"));
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

function newHost(broker: LocalBroker): PluginHost {
  const stateRoot = join(root, "state");
  return new PluginHost({
    broker,
    logger: silentLogger(),
    nexoVersion: NEXO_VERSION,
    stateRoot,
    sandbox: { require: false, allowHostNetwork: [], limits: { processes: 256, openFiles: 1024 }, protectedPaths: [stateRoot] },
  });
}

const cases = [
  { name: "unsandboxed", manifest: plugin("plain", false), starts: [] as number[], calls: [] as number[], rates: [] as number[] },
  { name: "bwrap + rlimits", manifest: plugin("boxed", true), starts: [] as number[], calls: [] as number[], rates: [] as number[] },
];
const broker = new LocalBroker();
try {
  for (let i = 0; i < STARTS; i++) {
    for (const c of cases) {
      const host = newHost(broker);
      host.add({ manifest: c.manifest });
      const t0 = process.hrtime.bigint();
      const report = await host.startAll();
      c.starts.push(Number(process.hrtime.bigint() - t0));
      if (report.failed.length) throw new Error(report.failed[0]!.error);
      await host.stopAll();
    }
  }
  const host = newHost(broker);
  for (const c of cases) host.add({ manifest: c.manifest });
  await host.startAll();
  for (const c of cases) for (let i = 0; i < 300; i++) await host.invokeTool(c.manifest.id, { tool_name: "echo", args: { i } });
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const n = Math.ceil(CALLS / ROUNDS);
      const r0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const s = process.hrtime.bigint();
        await host.invokeTool(c.manifest.id, { tool_name: "echo", args: { i } });
        c.calls.push(Number(process.hrtime.bigint() - s));
      }
      c.rates.push(n / (Number(process.hrtime.bigint() - r0) / 1e9));
    }
  }
  await host.stopAll();
  const startRows: Row[] = cases.map((c) => ({ name: `start-up, ${c.name}`, opsPerSec: 1e9 / (c.starts.reduce((a, b) => a + b, 0) / c.starts.length), ...summarize(c.starts) }));
  startRows[1]!.ratio = `${((startRows[1]!.p50us ?? 0) / (startRows[0]!.p50us || 1)).toFixed(2)}x p50`;
  printRows(`Plugin start-up (spawn to initialize answered), ${STARTS} starts each`, startRows);
  const callRows: Row[] = cases.map((c) => ({ name: `tool.invoke round trip, ${c.name}`, opsPerSec: Math.max(...c.rates), ...summarize(c.calls) }));
  callRows[1]!.ratio = `${(callRows[1]!.opsPerSec / callRows[0]!.opsPerSec).toFixed(2)}x ops/s`;
  printRows(`Tool-call round trip, sequential, ${CALLS} calls each`, callRows);
} finally {
  await broker.close();
  rmSync(root, { recursive: true, force: true });
}

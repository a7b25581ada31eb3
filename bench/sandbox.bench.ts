// The cost of the plugin sandbox (bubblewrap + rlimits): start-up time (spawn to
// `initialize` answered), the tool-call round trip, and an HTTP request through
// the daemon's reverse proxy to an http_server plugin (unsandboxed: straight to
// its loopback port; network = "deny": through the socat bridge on a Unix
// socket), sandboxed and not, the cases interleaved in the same run so load
// from other processes hits both alike.
// Run: node --import tsx bench/sandbox.bench.ts  (needs bwrap and socat: scripts/setup.sh)
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Nexo } from "../packages/nexo/src/app/index.js";
import { LocalBroker } from "../packages/nexo/src/broker/index.js";
import { PluginHost } from "../packages/nexo/src/host/index.js";
import { silentLogger } from "../packages/nexo/src/log/index.js";
import { loadManifest, type PluginManifest } from "../packages/nexo/src/manifest/index.js";
import { NEXO_VERSION } from "../packages/nexo/src/version.js";
import { printRows, summarize, type Row } from "./stats.js";

const STARTS = Number(process.env.BENCH_STARTS ?? 20);
const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const ROUNDS = 5;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const PROBE = fileURLToPath(new URL("../packages/nexo/test/fixtures/plugins/sandbox-probe.mjs", import.meta.url));
const HTTP_PLUGIN = fileURLToPath(new URL("../packages/nexo/test/fixtures/plugins/http-plugin.mjs", import.meta.url));

const root = mkdtempSync(join(tmpdir(), "nexo-bench-sandbox-"));
chmodSync(root, 0o755);

function plugin(id: string, sandboxed: boolean): PluginManifest {
  const dir = join(root, "plugins", id);
  mkdirSync(dir, { recursive: true });
  copyFileSync(PROBE, join(dir, "probe.mjs"));
  const lines = [
    "[plugin]",
    `id = "${id}"`,
    'version = "0.1.0"',
    "[plugin.entrypoint]",
    `command = "${process.execPath}"`,
    'args = ["probe.mjs"]',
    "[plugin.extends]",
    'tools = ["echo"]',
  ];
  if (sandboxed) lines.push("[plugin.sandbox]", "enabled = true", 'fs_write_paths = ["${state_dir}"]');
  writeFileSync(join(dir, "plugin.toml"), lines.join("\n"));
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

function httpPlugin(id: string, sandboxed: boolean): PluginManifest {
  const dir = join(root, "plugins", id);
  mkdirSync(dir, { recursive: true });
  copyFileSync(HTTP_PLUGIN, join(dir, "http-plugin.mjs"));
  const lines = ["[plugin]", `id = "${id}"`, 'version = "0.1.0"', "[plugin.entrypoint]", `command = "${process.execPath}"`, 'args = ["http-plugin.mjs"]'];
  lines.push("[plugin.capabilities.http_server]", "port = 0", 'bind = "127.0.0.1"', 'health_path = "/health"', "[plugin.http]", `mount_prefix = "/hooks/${id}"`);
  if (sandboxed) lines.push("[plugin.sandbox]", "enabled = true", 'network = "deny"');
  writeFileSync(join(dir, "plugin.toml"), lines.join("\n"));
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

/** One GET through the app's proxy on a keep-alive agent; its latency in ns. */
function get(agent: Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0)) : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
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

  const stateDir = join(root, "app-state");
  const app = new Nexo({
    logger: silentLogger(),
    http: true,
    apiPort: 0,
    stateDir,
    pluginSandbox: { require: false, allowHostNetwork: [], limits: {}, protectedPaths: [stateDir] },
  });
  const web = [
    { name: "unsandboxed (loopback port)", manifest: httpPlugin("webplain", false), calls: [] as number[], rates: [] as number[] },
    { name: "network deny (socat bridge)", manifest: httpPlugin("webboxed", true), calls: [] as number[], rates: [] as number[] },
  ];
  for (const c of web) app.host.add({ manifest: c.manifest });
  await app.start();
  try {
    const port = Number(new URL(app.url!).port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (const c of web) {
      for (let ready = false; !ready;)
        ready = await get(agent, port, `/hooks/${c.manifest.id}/health`).then(
          () => true,
          () => new Promise<boolean>((r) => setTimeout(() => r(false), 50)),
        );
      for (let i = 0; i < 300; i++) await get(agent, port, `/hooks/${c.manifest.id}/pid`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of web) {
        const n = Math.ceil(REQUESTS / ROUNDS);
        const r0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) c.calls.push(await get(agent, port, `/hooks/${c.manifest.id}/pid`));
        c.rates.push(n / (Number(process.hrtime.bigint() - r0) / 1e9));
      }
    }
    agent.destroy();
  } finally {
    await app.stop();
  }
  const webRows: Row[] = web.map((c) => ({ name: `proxied GET, ${c.name}`, opsPerSec: Math.max(...c.rates), ...summarize(c.calls) }));
  webRows[1]!.ratio = `${(webRows[1]!.opsPerSec / webRows[0]!.opsPerSec).toFixed(2)}x ops/s`;
  printRows(`HTTP round trip through the daemon's proxy, sequential, one keep-alive connection, ${REQUESTS} requests each`, webRows);
} finally {
  await broker.close();
  rmSync(root, { recursive: true, force: true });
}

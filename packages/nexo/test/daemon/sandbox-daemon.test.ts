import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { tempDir } from "../helpers/fixture-plugins.js";
import { runNexo, startNexoDaemon } from "../helpers/nexo-cli.js";
import { waitFor } from "../helpers/wait.js";

const PROBE = fileURLToPath(new URL("../fixtures/plugins/sandbox-probe.mjs", import.meta.url));

function writePlugin(plugins: string, id: string, sandbox: string | null, extra: string[] = []): void {
  const dir = join(plugins, id);
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
  writeFileSync(join(dir, "plugin.toml"), [...lines, ...extra, ...(sandbox === null ? [] : ["[plugin.sandbox]", sandbox])].join("\n"));
}

function daemonDir(t: Parameters<typeof tempDir>[0], sandboxYaml: string[]): { config: string; env: Record<string, string> } {
  const dir = tempDir(t, "nexo-sandbox-daemon-");
  chmodSync(dir, 0o755);
  const plugins = join(dir, "plugins");
  writePlugin(plugins, "boxed", 'enabled = true\nfs_write_paths = ["${state_dir}"]');
  // A section this host accepts with a warning, which the daemon must log when it loads the plugin.
  writePlugin(plugins, "calm", null, ["[plugin.tools]", 'expose = ["echo"]', 'deferred = ["echo"]']);
  const config = join(dir, "nexo.yaml");
  writeFileSync(config, [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(plugins)}]`, "api:", "  enabled: false", ...sandboxYaml, ""].join("\n"));
  return { config, env: { NEXO_SOCKET: join(dir, "state", "nexo.sock") } };
}

async function statusOf(env: Record<string, string>, key: string, settled: (s: Record<string, any>) => boolean): Promise<Record<string, any>> {
  const found = await waitFor(
    async () => {
      const r = await runNexo(["plugin", "status", key, "--json"], env);
      if (r.code !== 0) return undefined;
      const s = JSON.parse(r.stdout) as Record<string, any>;
      return settled(s) ? s : undefined;
    },
    `plugin ${key} settled`,
    20_000,
    100,
  );
  return found!;
}

test("sandbox daemon - with sandbox.require and no bubblewrap on the daemon's PATH, no plugin starts and the errors say why", async (t) => {
  const { config, env } = daemonDir(t, ["sandbox:", "  require: true"]);
  const daemon = startNexoDaemon(t, config, { PATH: "/nonexistent" });
  const boxed = await statusOf(env, "boxed", (s) => s.state === "failed");
  assert.match(boxed.lastError, /NEXO_ERR_HOST_SANDBOX_UNAVAILABLE|bubblewrap \(bwrap\) is not on the daemon's PATH: it is not started/);
  assert.match(boxed.lastError, /apt-get install bubblewrap/);
  const calm = await statusOf(env, "calm", (s) => s.state === "failed");
  assert.match(calm.lastError, /declares no \[plugin.sandbox\] and sandbox.require is true/);
  assert.equal(boxed.pid, null);
  assert.match(daemon.output(), /NEXO_ERR_HOST_SANDBOX_UNAVAILABLE/);
});

test("sandbox daemon - the daemon logs at start how each plugin is contained and what it is granted, and nexo plugin status shows it", async (t) => {
  const { config, env } = daemonDir(t, [
    "sandbox:",
    "  limits:",
    "    open_files: 256",
    "    processes: 128",
    "plugins:",
    "  boxed:",
    '    grants: [memory, "broker.subscribe:demo.>"]',
    "  calm: {}",
  ]);
  const daemon = startNexoDaemon(t, config);
  await statusOf(env, "boxed", (s) => s.state === "ready");
  await statusOf(env, "calm", (s) => s.state === "ready");
  const out = daemon.output();
  assert.match(
    out,
    /"plugin":"boxed","sandbox":"bwrap \(manifest\) network=deny drop_user[^"]*","limits":"(?:rlimits \(prlimit\) processes=128 open_files=256|cgroup v2 \([^)]+\) processes=128; rlimits \(prlimit\) open_files=256)","grants":"enforced \(operator\): memory, broker.subscribe:demo.>","msg":"plugin runs sandboxed"/,
  );
  assert.match(
    out,
    /"plugin":"calm","sandbox":"none","limits":"(?:rlimits \(prlimit\) processes=128 open_files=256|cgroup v2 \([^)]+\) processes=128; rlimits \(prlimit\) open_files=256)","grants":"not enforced; declared: none","msg":"plugin runs unsandboxed"/,
  );
  assert.match(out, /"level":40,[^\n]*"pluginId":"calm"[^\n]*"msg":"\[plugin.tools\] deferred has no effect on this host/);
  // Which mechanism holds the limits, and why not cgroup v2 when it does not.
  assert.match(
    out,
    /"mechanism":"rlimits","reason":"[^"]+","msg":"plugin resource limits: rlimits \(prlimit\), cgroup v2 not usable"|"mechanism":"cgroup v2","cgroup":"[^"]+","msg":"plugin resource limits: cgroup v2"/,
  );
  const text = await runNexo(["plugin", "status", "boxed"], env);
  assert.match(text.stdout, /sandbox: +bwrap \(manifest\) network=deny drop_user/);
  assert.match(text.stdout, /limits: +(?:rlimits \(prlimit\) processes=128 open_files=256|cgroup v2 \([^)]+\) processes=128; rlimits \(prlimit\) open_files=256)\n/);
  assert.match(text.stdout, /grants: +enforced \(operator\): memory, broker.subscribe:demo.>\n/);
});

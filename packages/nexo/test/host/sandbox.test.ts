import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { launchPlugin, PluginHost, type PluginSpec } from "../../src/host/index.js";
import { containCommand, findOnPath, planSandbox, type SandboxOperatorConfig } from "../../src/host/sandbox/index.js";
import { silentLogger } from "../../src/log/index.js";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { MonitoringPlugin } from "../../src/plugins/index.js";
import { testApp } from "../helpers/app.js";
import { parsePromText, sampleValue } from "../helpers/prom-text.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { httpCall } from "../helpers/http-client.js";
import { HTTP_FIXTURE_SCRIPT } from "../helpers/http-fixture.js";
import { waitFor } from "../helpers/wait.js";

const PROBE = fileURLToPath(new URL("../fixtures/plugins/sandbox-probe.mjs", import.meta.url));
const TOOLS = ["echo", "id", "tcp", "read", "write", "fork", "hog"];

/** A plugin dir holding its own copy of the probe (only its dir is visible in the sandbox), with `sandbox` as its [plugin.sandbox] body. */
function probePlugin(root: string, id: string, sandbox: string | null): PluginManifest {
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
    `tools = [${TOOLS.map((t) => JSON.stringify(t)).join(", ")}]`,
    "[plugin.supervisor]",
    "respawn = false",
    ...(sandbox === null ? [] : ["[plugin.sandbox]", sandbox]),
  ];
  writeFileSync(join(dir, "plugin.toml"), lines.join("\n"));
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

function setup(t: TestContext, operator: Partial<SandboxOperatorConfig> = {}) {
  const root = tempDir(t, "nexo-sandbox-");
  // The sandbox drops to uid 65534, which must reach the plugin dirs (mkdtemp makes 0700).
  chmodSync(root, 0o755);
  const stateRoot = join(root, "state");
  mkdirSync(stateRoot, { recursive: true });
  const broker = new LocalBroker();
  const host = new PluginHost({
    broker,
    logger: silentLogger(),
    nexoVersion: NEXO_VERSION,
    stateRoot,
    timeouts: { initMs: 10_000, shutdownReplyMs: 2000, killGraceMs: 300 },
    sandbox: { require: false, allowHostNetwork: [], limits: {}, protectedPaths: [stateRoot, join(stateRoot, "nexo.sock")], ...operator },
  });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  const probe = async (key: string, tool: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const r = (await host.invokeTool(key, { tool_name: tool, args }, 20_000)) as { content: Array<{ text: string }> };
    return JSON.parse(r.content[0]!.text) as Record<string, unknown>;
  };
  return { root, stateRoot, broker, host, probe };
}

function loopbackListener(t: TestContext): Promise<number> {
  const server: Server = createServer((s) => s.destroy());
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

test("sandbox - a plugin under network deny reaches no listener and sees neither secrets nor the daemon's or another plugin's state; a healthy plugin beside it keeps echoing", async (t) => {
  const { root, stateRoot, host, probe } = setup(t);
  host.add({ manifest: probePlugin(root, "boxed", 'enabled = true\nnetwork = "deny"\nfs_write_paths = ["${state_dir}"]') });
  host.add({ manifest: probePlugin(root, "free", null) });
  const report = await host.startAll();
  assert.deepEqual(report.failed, []);
  const port = await loopbackListener(t);
  writeFileSync(join(stateRoot, "plugins", "free", "secret.txt"), "another plugin's state");
  writeFileSync(join(stateRoot, "daemon-secret.txt"), "the daemon's state");

  // The same probes unsandboxed succeed, so a refusal below is the sandbox's doing.
  assert.deepEqual(await probe("free", "tcp", { port }), { ok: true });
  assert.equal((await probe("free", "read", { path: join(stateRoot, "daemon-secret.txt") })).ok, true);

  assert.deepEqual(await probe("boxed", "id"), { uid: 65534, gid: 65534, home: join(stateRoot, "plugins", "boxed") });
  assert.deepEqual(await probe("boxed", "tcp", { port }), { ok: false, error: "ECONNREFUSED" });
  assert.deepEqual(await probe("boxed", "read", { path: "/etc/shadow" }), { ok: false, error: "ENOENT" });
  assert.deepEqual(await probe("boxed", "read", { path: join(stateRoot, "daemon-secret.txt") }), { ok: false, error: "ENOENT" });
  assert.deepEqual(await probe("boxed", "read", { path: join(stateRoot, "plugins", "free", "secret.txt") }), { ok: false, error: "ENOENT" });
  assert.equal((await probe("boxed", "read", { path: "/root/.bashrc" })).ok, false);
  // Its own directory is readable but not writable; its state dir is writable; nothing else is.
  assert.equal((await probe("boxed", "read", { path: join(root, "plugins", "boxed", "probe.mjs") })).ok, true);
  assert.equal((await probe("boxed", "write", { path: join(root, "plugins", "boxed", "dropped.txt") })).ok, false);
  assert.deepEqual(await probe("boxed", "write", { path: join(stateRoot, "plugins", "boxed", "mine.txt") }), { ok: true });
  assert.equal((await probe("boxed", "write", { path: join(stateRoot, "plugins", "free", "evil.txt") })).ok, false);
  assert.equal((await probe("boxed", "write", { path: "/usr/evil.txt" })).ok, false);

  assert.deepEqual(await probe("free", "echo", { still: "here" }), { still: "here" });
  const boxed = host.status().find((s) => s.key === "boxed")!;
  assert.match(boxed.sandbox, /^bwrap \(manifest\) network=deny drop_user/);
  assert.equal(host.status().find((s) => s.key === "free")!.sandbox, "none");
});

test("sandbox - a fork bomb stops at the process limit and the plugin beside it keeps echoing", async (t) => {
  const { root, host, probe } = setup(t);
  host.add({ manifest: probePlugin(root, "forker", 'enabled = true\nfs_write_paths = ["${state_dir}"]'), limits: { processes: 24 } });
  host.add({ manifest: probePlugin(root, "calm", null) });
  assert.deepEqual((await host.startAll()).failed, []);
  const { started, failed } = (await probe("forker", "fork", { n: 200 })) as { started: number; failed: number };
  assert.ok(started > 0 && started < 24, `started ${started} processes under a limit of 24`);
  assert.ok(failed > 150, `only ${failed} of 200 forks were refused`);
  assert.match(host.status().find((s) => s.key === "forker")!.limits, /^(?:rlimits \(prlimit\)|cgroup v2 \([^)]+\)) processes=24/);
  assert.deepEqual(await probe("calm", "echo", { n: 1 }), { n: 1 });
});

test("sandbox - a plugin past its memory limit dies, and its status, crashed event and metrics say limit", async (t) => {
  const root = tempDir(t, "nexo-sandbox-");
  chmodSync(root, 0o755);
  const stateDir = join(root, "state");
  const { app } = testApp(t, { stateDir, pluginSandbox: { require: false, allowHostNetwork: [], limits: { memoryMb: 1024 }, protectedPaths: [stateDir] } });
  await app.addPlugin(new MonitoringPlugin({ processMetrics: false }));
  const host = app.host;
  const probe = async (key: string, tool: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const r = (await host.invokeTool(key, { tool_name: tool, args }, 20_000)) as { content: Array<{ text: string }> };
    return JSON.parse(r.content[0]!.text) as Record<string, unknown>;
  };
  host.add({ manifest: probePlugin(root, "hog", 'enabled = true\nfs_write_paths = ["${state_dir}"]') });
  host.add({ manifest: probePlugin(root, "calm", null) });
  const crashed: Event[] = [];
  await app.broker.subscribe("plugin.lifecycle.hog.crashed", (e) => void crashed.push(e));
  await app.start();
  await assert.rejects(probe("hog", "hog"), (err: unknown) => isNexoError(err) && (err.code === ErrorCodes.HOST_PLUGIN_EXITED || err.code === ErrorCodes.HOST_PLUGIN_RESTARTED));
  await waitFor(() => crashed.length === 1, "the crashed event");
  // A cgroup's OOM killer says oom; an address-space rlimit leaves the runtime's own out-of-memory line: limit.
  const expected = host.limitMechanism().mechanism === "cgroup v2" ? "oom" : "limit";
  assert.equal((crashed[0]!.payload as { reason?: string }).reason, expected);
  const status = host.status().find((s) => s.key === "hog")!;
  assert.equal(status.lastExitReason, expected);
  assert.equal(status.limitExits, 1);
  const metrics = parsePromText((await app.http.inject({ method: "GET", url: "/metrics" })).body);
  assert.equal(sampleValue(metrics, "nexo_plugin_limit_exits_total", { plugin: "hog" }), 1);
  assert.equal(sampleValue(metrics, "nexo_plugin_limit_exits_total", { plugin: "calm" }), 0);
  assert.match(status.limits, /memory=1024MiB/);
  assert.deepEqual(await probe("calm", "echo", { after: "hog" }), { after: "hog" });
});

test("sandbox - without bubblewrap on PATH a plugin asking for a sandbox is not started, and the error says why and how to fix it", async (t) => {
  const root = tempDir(t, "nexo-sandbox-");
  const manifest = probePlugin(root, "boxed", "enabled = true");
  const spec: PluginSpec = { manifest };
  await assert.rejects(
    launchPlugin(spec, {
      stateRoot: join(root, "state"),
      nexoVersion: NEXO_VERSION,
      parentEnv: { PATH: "/nonexistent" },
      sandbox: { require: true, allowHostNetwork: [], limits: {}, protectedPaths: [] },
    }),
    (err: unknown) =>
      isNexoError(err) &&
      err.code === ErrorCodes.HOST_SANDBOX_UNAVAILABLE &&
      /bubblewrap \(bwrap\) is not on the daemon's PATH/.test(err.message) &&
      /apt-get install bubblewrap/.test(err.message),
  );
});

test("sandbox - where bubblewrap cannot create namespaces the plugin is not started, and the error carries bwrap's reason and the fix", async (t) => {
  const root = tempDir(t, "nexo-sandbox-");
  const bin = join(root, "bin");
  mkdirSync(bin);
  // Stands in for a bwrap on a kernel without unprivileged user namespaces: the same message, the same exit.
  writeFileSync(
    join(bin, "bwrap"),
    "#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n",
  );
  chmodSync(join(bin, "bwrap"), 0o755);
  const spec: PluginSpec = { manifest: probePlugin(root, "boxed", "enabled = true\ndrop_user = false") };
  await assert.rejects(
    launchPlugin(spec, { stateRoot: join(root, "state"), nexoVersion: NEXO_VERSION, parentEnv: { PATH: bin } }),
    (err: unknown) =>
      isNexoError(err) &&
      err.code === ErrorCodes.HOST_SANDBOX_UNAVAILABLE &&
      /cannot create namespaces here \(bwrap: No permissions to create new namespace/.test(err.message) &&
      /unprivileged_userns_clone/.test(err.message),
  );
});

test("sandbox - with sandbox.require a plugin declaring no sandbox is refused unless sandbox.default gives it one", async (t) => {
  const { root, host } = setup(t, { require: true });
  host.add({ manifest: probePlugin(root, "bare", null) });
  const report = await host.startAll();
  assert.equal(report.failed.length, 1);
  assert.match(report.failed[0]!.error, /declares no \[plugin.sandbox\] and sandbox.require is true/);
  assert.equal(host.status()[0]!.state, "failed");

  const second = setup(t, { require: true, default: { network: "deny", fsReadPaths: [], fsWritePaths: ["${state_dir}"], dropUser: true } });
  second.host.add({ manifest: probePlugin(second.root, "bare", null) });
  assert.deepEqual((await second.host.startAll()).failed, []);
  assert.equal((await second.probe("bare", "id")).uid, 65534);
  assert.match(second.host.status()[0]!.sandbox, /^bwrap \(default\)/);
});

test("sandbox - a plugin directory uid 65534 cannot enter is refused before start, naming the directory and the fix", async (t) => {
  const { root, host } = setup(t);
  const manifest = probePlugin(root, "hidden", "enabled = true");
  chmodSync(join(root, "plugins"), 0o700);
  host.add({ manifest });
  const report = await host.startAll();
  assert.match(report.failed[0]?.error ?? "", new RegExp(`cannot reach the plugin directory: ${join(root, "plugins")} is not open to other users.*chmod o\\+rx`));
});

test("sandbox - network = host needs the operator's allow", async (t) => {
  const { root, host } = setup(t);
  host.add({ manifest: probePlugin(root, "netty", 'enabled = true\nnetwork = "host"') });
  const report = await host.startAll();
  assert.match(report.failed[0]?.error ?? "", /sandbox.allow_host_network/);
});

test("sandbox - a plugin with http_server under network = deny serves its proxied route over a bridged Unix socket and still reaches no listener", async (t) => {
  const root = tempDir(t, "nexo-sandbox-");
  chmodSync(root, 0o755);
  const dir = join(root, "plugins", "web");
  mkdirSync(dir, { recursive: true });
  copyFileSync(HTTP_FIXTURE_SCRIPT, join(dir, "http-plugin.mjs"));
  const toml = [
    "[plugin]",
    'id = "web"',
    'version = "0.1.0"',
    "[plugin.entrypoint]",
    `command = "${process.execPath}"`,
    'args = ["http-plugin.mjs"]',
    "[plugin.capabilities.http_server]",
    "port = 0",
    'bind = "127.0.0.1"',
    'health_path = "/health"',
    "[plugin.http]",
    'mount_prefix = "/hooks/web"',
    "[plugin.sandbox]",
    "enabled = true",
    'network = "deny"',
  ];
  writeFileSync(join(dir, "plugin.toml"), toml.join("\n"));
  const stateDir = join(root, "state");
  const { app } = testApp(t, { http: true, stateDir, pluginSandbox: { require: true, allowHostNetwork: [], limits: {}, protectedPaths: [stateDir] } });
  app.host.add({ manifest: loadManifest(dir, { nexoVersion: NEXO_VERSION }) });
  await app.start();
  await waitFor(async () => (await httpCall(`${app.url}/hooks/web/health`)).status === 200, "the route ready", 15_000, 25);
  const r = await httpCall(`${app.url}/hooks/web/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"hi":1}' });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.text) as { body: string; headers: Record<string, string> };
  assert.equal(seen.body, '{"hi":1}');
  // The plugin sees the same Host as an unsandboxed one: the address it was told to listen on.
  assert.equal(seen.headers.host, `127.0.0.1:${app.proxy.portOf("web")}`);
  // Its own network namespace: the daemon's listener on the host loopback is out of reach.
  const port = await loopbackListener(t);
  const out = await httpCall(`${app.url}/hooks/web/connect?port=${port}`);
  assert.equal(out.text, "ECONNREFUSED");
  const status = app.host.status().find((s) => s.key === "web")!;
  assert.match(status.sandbox, /network=deny \(http over unix socket\) drop_user/);
  assert.match(status.route ?? "", new RegExp(`^/hooks/web -> unix:${join(stateDir, "sockets", "web", "http.sock")} -> 127\\.0\\.0\\.1:\\d+ \\(ready\\)$`));
});

test("sandbox - an http_server plugin under network = deny without socat on PATH is not started, and the error says to install it", async (t) => {
  const root = tempDir(t, "nexo-sandbox-");
  const bin = join(root, "bin");
  mkdirSync(bin);
  // bwrap is there, socat is not.
  symlinkSync(findOnPath("bwrap", process.env.PATH ?? "")!, join(bin, "bwrap"));
  const plan = planSandbox(
    {
      id: "web",
      sandbox: { enabled: true, network: "deny", fsReadPaths: [], fsWritePaths: [], dropUser: false },
      httpServer: { port: 0, bind: "127.0.0.1", healthPath: "/health" },
    },
    "web",
    join(root, "state"),
    {
      require: false,
      allowHostNetwork: [],
      limits: {},
      protectedPaths: [],
    },
  );
  assert.throws(
    () =>
      containCommand({
        key: "web",
        plan,
        command: process.execPath,
        args: [],
        pluginDir: root,
        stateDir: join(root, "state"),
        protectedPaths: [],
        pathEnv: bin,
        http: { port: 4000, bind: "127.0.0.1", socketDir: join(root, "sockets", "web") },
      }),
    (err: unknown) =>
      isNexoError(err) && err.code === ErrorCodes.HOST_SANDBOX_UNAVAILABLE && /socat is not on the daemon's PATH: it is not started.*apt-get install socat/.test(err.message),
  );
});

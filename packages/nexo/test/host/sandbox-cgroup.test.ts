import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { PluginHost } from "../../src/host/index.js";
import { CgroupManager, cgroupFiles, cgroupGate, describePlan, niceLevel, oomKills, planSandbox, probeCgroup, type CgroupSystem } from "../../src/host/sandbox/index.js";
import { silentLogger } from "../../src/log/index.js";
import { loadManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { waitFor } from "../helpers/wait.js";

const PROBE = fileURLToPath(new URL("../fixtures/plugins/sandbox-probe.mjs", import.meta.url));

/** A /proc/self and cgroup tree held in a map, for the probe. */
function fakeSystem(files: Record<string, string>, writable: string[] = []): CgroupSystem {
  return {
    readText: (p) => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
      return v;
    },
    isWritable: (p) => writable.includes(p),
  };
}

const HYBRID_MOUNTS = [
  "30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755",
  "35 30 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw",
  "36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory",
].join("\n");

test("sandbox cgroup - the probe finds the daemon's cgroup v2 group and says why it cannot be used: hybrid v1/v2, no mount, not delegated", () => {
  // What this kind of machine has: cgroup v1 holds memory and pids, the unified hierarchy only hugetlb.
  const hybrid = probeCgroup(fakeSystem({ "/p/mountinfo": HYBRID_MOUNTS, "/p/cgroup": "4:memory:/x\n0::/\n", "/sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n" }), "/p");
  assert.deepEqual(hybrid, { available: false, reason: "the memory and pids controllers are not available in /sys/fs/cgroup/unified (it has: hugetlb)" });
  assert.match((probeCgroup(fakeSystem({ "/p/mountinfo": "", "/p/cgroup": "" }), "/p") as { reason: string }).reason, /no cgroup v2 hierarchy/);
  const v2 = {
    "/p/mountinfo": "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
    "/p/cgroup": "0::/system.slice/nexo.service\n",
    "/sys/fs/cgroup/system.slice/nexo.service/cgroup.controllers": "cpu memory pids\n",
  };
  const dir = "/sys/fs/cgroup/system.slice/nexo.service";
  assert.match((probeCgroup(fakeSystem(v2), "/p") as { reason: string }).reason, /is not writable by the daemon \(not delegated to it\)/);
  assert.deepEqual(probeCgroup(fakeSystem(v2, [dir, `${dir}/cgroup.subtree_control`]), "/p"), { available: true, dir, controllers: ["cpu", "memory", "pids"] });
  // The machine the tests run on gets an answer either way: a usable group, or a reason.
  const here = probeCgroup();
  assert.ok(here.available ? here.dir.startsWith("/") : here.reason.length > 0);
});

test("sandbox cgroup - limits become memory.max (swap off, group OOM kill), pids.max and cpu.weight; open files stay an rlimit; the gate holds the command", () => {
  assert.deepEqual(cgroupFiles({ memoryMb: 64, processes: 10, openFiles: 100, cpuWeight: 50 }, ["cpu", "memory", "pids"]), [
    ["memory.max", String(64 * 1024 * 1024)],
    ["memory.swap.max", "0"],
    ["memory.oom.group", "1"],
    ["pids.max", "10"],
    ["cpu.weight", "50"],
  ]);
  assert.deepEqual(cgroupFiles({ cpuWeight: 50 }, ["memory", "pids"]), [], "no cpu controller: no cpu.weight");
  assert.equal(oomKills("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n"), 2);
  assert.equal(oomKills(""), 0);
  assert.deepEqual(niceLevel(100), 0);
  assert.deepEqual(niceLevel(50), 3);
  assert.deepEqual(niceLevel(1), 19);
  const gate = cgroupGate("/usr/bin/node", ["main.mjs"]);
  assert.equal(gate.command, "/bin/sh");
  assert.deepEqual(gate.args.slice(2), ["nexo-cgroup-gate", "/usr/bin/node", "main.mjs"]);
  const plan = planSandbox({ id: "box" }, "box", "/s/plugins/box", { require: false, allowHostNetwork: [], limits: { memoryMb: 64, openFiles: 100 }, protectedPaths: [] });
  assert.equal(describePlan(plan).limits, "rlimits (prlimit) memory=64MiB open_files=100");
  assert.equal(describePlan({ ...plan, cgroup: "/sys/fs/cgroup/x/plugin-box" }).limits, "cgroup v2 (/sys/fs/cgroup/x/plugin-box) memory=64MiB; rlimits (prlimit) open_files=100");
});

/** A delegated cgroup v2 directory laid out in a temp dir (the kernel's files as plain files). */
function fakeCgroupRoot(t: TestContext, procs: string): { dir: string; manager: CgroupManager } {
  const dir = tempDir(t, "nexo-cgroup-");
  writeFileSync(join(dir, "cgroup.controllers"), "cpu memory pids\n");
  writeFileSync(join(dir, "cgroup.subtree_control"), "\n");
  writeFileSync(join(dir, "cgroup.procs"), procs);
  return { dir, manager: new CgroupManager({ available: true, dir, controllers: ["cpu", "memory", "pids"] }) };
}

test("sandbox cgroup - setup moves the daemon into a leaf and enables the controllers; a cgroup shared with other processes falls back to rlimits, saying why", (t) => {
  const { dir, manager } = fakeCgroupRoot(t, `${process.pid}\n`);
  assert.deepEqual(manager.mechanism(), { mechanism: "cgroup v2", dir });
  assert.equal(readFileSync(join(dir, "daemon", "cgroup.procs"), "utf8"), String(process.pid));
  assert.equal(readFileSync(join(dir, "cgroup.subtree_control"), "utf8"), "+cpu +memory +pids");
  const cg = manager.prepare("box", { memoryMb: 64, processes: 10 })!;
  assert.equal(cg.dir, join(dir, "plugin-box"));
  assert.equal(readFileSync(join(cg.dir, "memory.max"), "utf8"), String(64 * 1024 * 1024));
  assert.equal(readFileSync(join(cg.dir, "pids.max"), "utf8"), "10");
  // A kernel without swap accounting has no memory.swap.max: skipped, not created (cgroupfs would refuse).
  assert.equal(existsSync(join(cg.dir, "memory.swap.max")), false);
  writeFileSync(join(cg.dir, "memory.swap.max"), "max");
  manager.prepare("box", { memoryMb: 64 });
  assert.equal(readFileSync(join(cg.dir, "memory.swap.max"), "utf8"), "0");

  const shared = fakeCgroupRoot(t, `${process.pid}\n1234\n`);
  const m = shared.manager.mechanism();
  assert.equal(m.mechanism, "rlimits");
  assert.match((m as { reason: string }).reason, /shares its cgroup .* with 1 other process/);
  assert.equal(shared.manager.prepare("box", { memoryMb: 64 }), null);
});

test("sandbox cgroup - a limited plugin is moved into its cgroup before it runs, its status names the cgroup, and an OOM kill there is reported as oom", async (t) => {
  const { dir, manager } = fakeCgroupRoot(t, `${process.pid}\n`);
  const root = tempDir(t, "nexo-cgroup-plugin-");
  const pluginDir = join(root, "oomy");
  mkdirSync(pluginDir);
  copyFileSync(PROBE, join(pluginDir, "probe.mjs"));
  writeFileSync(
    join(pluginDir, "plugin.toml"),
    [
      "[plugin]",
      'id = "oomy"',
      'version = "0.1.0"',
      "[plugin.entrypoint]",
      `command = "${process.execPath}"`,
      'args = ["probe.mjs"]',
      "[plugin.extends]",
      'tools = ["kill", "echo"]',
      "[plugin.supervisor]",
      "respawn = false",
    ].join("\n"),
  );
  const broker = new LocalBroker();
  const host = new PluginHost({
    broker,
    logger: silentLogger(),
    nexoVersion: NEXO_VERSION,
    stateRoot: join(root, "state"),
    cgroups: manager,
    sandbox: { require: false, allowHostNetwork: [], limits: { memoryMb: 2048, processes: 64, openFiles: 512 }, protectedPaths: [] },
  });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  host.add({ manifest: loadManifest(pluginDir, { nexoVersion: NEXO_VERSION }) });
  const crashed: Event[] = [];
  await broker.subscribe("plugin.lifecycle.oomy.crashed", (e) => void crashed.push(e));
  assert.deepEqual((await host.startAll()).failed, []);
  const status = host.status()[0]!;
  // The gate execs the plugin in place, so the pid the daemon wrote into the cgroup is the plugin's own.
  assert.equal(readFileSync(join(dir, "plugin-oomy", "cgroup.procs"), "utf8"), String(status.pid));
  assert.equal(status.limits, `cgroup v2 (${join(dir, "plugin-oomy")}) memory=2048MiB processes=64; rlimits (prlimit) open_files=512`);
  assert.equal(host.limitMechanism().mechanism, "cgroup v2");

  // The kernel's side, as it would look: the OOM killer acted in the group, and the plugin died of SIGKILL.
  writeFileSync(join(dir, "plugin-oomy", "memory.events"), "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
  await host.invokeTool("oomy", { tool_name: "kill", args: {} }, 5000).catch(() => undefined);
  await waitFor(() => crashed.length === 1, "the crashed event");
  assert.equal((crashed[0]!.payload as { reason?: string }).reason, "oom");
  const after = host.status()[0]!;
  assert.equal(after.lastExitReason, "oom");
  assert.equal(after.limitExits, 1);
});

test("sandbox cgroup - a plugin whose cgroup cannot be made is not started (never run without its limits), and the error says why", async (t) => {
  const { dir, manager } = fakeCgroupRoot(t, `${process.pid}\n`);
  // Where its group would go there is a file: mkdir fails as it would on a cgroup the daemon may not write.
  writeFileSync(join(dir, "plugin-stuck"), "");
  const root = tempDir(t, "nexo-cgroup-plugin-");
  const pluginDir = join(root, "stuck");
  mkdirSync(pluginDir);
  copyFileSync(PROBE, join(pluginDir, "probe.mjs"));
  writeFileSync(
    join(pluginDir, "plugin.toml"),
    ["[plugin]", 'id = "stuck"', 'version = "0.1.0"', "[plugin.entrypoint]", `command = "${process.execPath}"`, 'args = ["probe.mjs"]'].join("\n"),
  );
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: NEXO_VERSION, stateRoot: join(root, "state"), cgroups: manager });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  host.add({ manifest: loadManifest(pluginDir, { nexoVersion: NEXO_VERSION }), limits: { processes: 32 } });
  const report = await host.startAll();
  assert.match(report.failed[0]?.error ?? "", /^plugin stuck: cannot set up its cgroup for its limits: .*; it is not started$/);
  assert.equal(host.status()[0]!.state, "failed");
  assert.equal(host.status()[0]!.restarts, 0);
});

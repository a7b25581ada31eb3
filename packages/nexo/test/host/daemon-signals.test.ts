import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { hostilePlugin, isAlive, type HostileOptions } from "../helpers/hostile-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { startNexoDaemon } from "../helpers/nexo-cli.js";
import { waitFor } from "../helpers/wait.js";

/** A nexo.yaml running one hostile plugin, no HTTP; returns the config path, the plugin's state dir and the plugin_paths dir. */
function daemonConfig(t: TestContext, plugin: HostileOptions): { config: string; stateDir: string; plugins: string } {
  const dir = tempDir(t);
  const plugins = join(dir, "plugins");
  hostilePlugin(plugins, plugin);
  const config = join(dir, "nexo.yaml");
  writeFileSync(config, [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(plugins)}]`, "api:", "  enabled: false", ""].join("\n"));
  return { config, stateDir: join(dir, "state", "plugins", plugin.id), plugins };
}

test("daemon - SIGHUP reloads nexo run instead of stopping it: a plugin added to the file starts, the running one keeps its process; SIGTERM then stops both cleanly", async (t) => {
  const { config, stateDir, plugins } = daemonConfig(t, { id: "hup", mode: "clean" });
  const daemon = startNexoDaemon(t, config);
  const closed = new Promise<number | null>((r) => daemon.once("close", r));
  await waitFor(() => daemon.output().includes("plugin ready"), "the plugin ready", 20_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${daemon.output()}`);
  });
  const ready = (): Array<{ plugin: string; plugin_pid: number }> =>
    daemon
      .output()
      .split("\n")
      .filter((l) => l.includes('"plugin ready"'))
      .map((l) => JSON.parse(l));
  hostilePlugin(plugins, { id: "hup_late", mode: "clean" });
  daemon.kill("SIGHUP");
  await waitFor(() => daemon.output().includes('"config reloaded"'), "the reload", 20_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${daemon.output()}`);
  });
  await waitFor(() => ready().some((r) => r.plugin === "hup_late"), "the added plugin ready", 20_000);
  assert.equal(daemon.exitCode, null, "still running");
  assert.deepEqual(
    ready()
      .map((r) => r.plugin)
      .sort(),
    ["hup", "hup_late"],
    "the unchanged plugin was not restarted",
  );
  daemon.kill("SIGTERM");
  assert.equal(await closed, 0, daemon.output());
  for (const dir of [stateDir, join(stateDir, "..", "hup_late")]) {
    assert.equal(typeof JSON.parse(readFileSync(join(dir, "shutdown.json"), "utf8")).reason, "string", "each plugin got a shutdown request");
  }
});

test("daemon - a SIGTERM during start-up stops nexo run cleanly once it is up", async (t) => {
  const { config, stateDir } = daemonConfig(t, { id: "slowstart", mode: "clean", env: { HOSTILE_INIT_DELAY_MS: "1500" } });
  const daemon = startNexoDaemon(t, config);
  const closed = new Promise<number | null>((r) => daemon.once("close", r));
  // The plugin is spawned (its first stderr line) but holds its initialize reply: the daemon is still starting.
  await waitFor(() => daemon.output().includes("hostile clean starting"), "the plugin spawned", 20_000);
  assert.ok(!daemon.output().includes("plugin ready"));
  daemon.kill("SIGTERM");
  assert.equal(await closed, 0, daemon.output());
  assert.equal(typeof JSON.parse(readFileSync(join(stateDir, "shutdown.json"), "utf8")).reason, "string", "the plugin got a shutdown request");
});

test("daemon - a SIGKILLed nexo run leaves no plugin behind, even one ignoring SIGTERM and EOF, nor its children", async (t) => {
  const { config, stateDir } = daemonConfig(t, { id: "stubborn", mode: "ignore-all" });
  const daemon = startNexoDaemon(t, config);
  const pidsFile = join(stateDir, "pids.json");
  // The fixture writes the file in place: it may exist before its content does.
  let read: { plugin: number; child: number } | undefined;
  const readPids = (): boolean => {
    try {
      read = JSON.parse(readFileSync(pidsFile, "utf8")) as { plugin: number; child: number };
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(readPids, "the plugin and its child started", 20_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${daemon.output()}`);
  });
  if (read === undefined) throw new Error("unreachable: waitFor returned without the pids");
  const pids = read;
  t.after(() => {
    for (const pid of [pids.plugin, pids.child]) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  });
  assert.ok(isAlive(pids.plugin) && isAlive(pids.child));
  daemon.kill("SIGKILL");
  await new Promise((r) => daemon.once("close", r));
  await waitFor(() => !isAlive(pids.plugin) && !isAlive(pids.child), "the orphaned plugin and its child gone", 5000);
});

test("daemon - the start line names the control socket only when the daemon opens one (nexo mcp does not)", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "nexo.yaml");
  writeFileSync(file, [`state_dir: ${join(dir, "state")}`, "plugin_paths: []", "api:", "  enabled: false", ""].join("\n"));
  const config = loadConfig(file);
  for (const controlSocket of [false, true]) {
    const cap = captureLogger("info");
    const daemon = await Daemon.start(config, { logger: cap.logger, controlSocket });
    await daemon.stop();
    const started = cap.lines().find((l) => l.msg === "nexo daemon started");
    assert.ok(started);
    assert.equal(started.socket, controlSocket ? config.control.socket : undefined);
    assert.equal(existsSync(config.control.socket), false, "closed after stop");
  }
});

test("daemon - a second plugin claiming a channel kind is refused at start with its code, naming both; the owner runs", async (t) => {
  const dir = tempDir(t);
  const plugins = join(dir, "plugins");
  hostilePlugin(plugins, { id: "a_owner", kind: "shared", mode: "clean" });
  hostilePlugin(plugins, { id: "b_claimer", kind: "shared", mode: "clean" });
  const file = join(dir, "nexo.yaml");
  writeFileSync(file, [`state_dir: ${join(dir, "state")}`, `plugin_paths: [${JSON.stringify(plugins)}]`, "api:", "  enabled: false", ""].join("\n"));
  const cap = captureLogger("info");
  const daemon = await Daemon.start(loadConfig(file), { logger: cap.logger, controlSocket: false });
  t.after(() => daemon.stop());
  assert.deepEqual(
    daemon.host.status().map((s) => [s.key, s.state]),
    [["a_owner", "ready"]],
  );
  const refused = cap.lines().find((l) => l.msg === "plugin refused");
  assert.ok(refused);
  assert.equal(refused.code, "NEXO_ERR_HOST_CHANNEL_KIND_TAKEN");
  assert.match(refused.err, /b_claimer/);
  assert.match(refused.err, /a_owner/);
});

// Live reload under a real daemon with real plugin processes: the config file is rewritten and
// daemon.reload() (what SIGHUP and `nexo reload` call) applies only the difference.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import type { Event } from "../../../src/contract/index.js";
import { loadConfig } from "../../../src/config/index.js";
import { Daemon } from "../../../src/daemon/index.js";
import { ErrorCodes, violationLine, type Violation } from "../../../src/errors.js";
import { fixturePlugin, tempDir } from "../../helpers/fixture-plugins.js";
import { captureLogger } from "../../helpers/log-capture.js";
import { waitFor } from "../../helpers/wait.js";

/** A counter whose value can be awaited (no polling). */
class Counter {
  value = 0;
  private waiters: Array<{ at: number; resolve: () => void }> = [];
  inc(): void {
    this.value += 1;
    this.waiters = this.waiters.filter((w) => (w.at <= this.value ? void w.resolve() : true));
  }
  /** Resolves once the count is at least `at`; rejects after `timeoutMs` (a lost event would otherwise hang the test). */
  reach(at: number, timeoutMs = 10_000): Promise<void> {
    if (at <= this.value) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.value} of ${at} events arrived within ${timeoutMs} ms: events were lost`)), timeoutMs);
      this.waiters.push({ at, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

interface Setup {
  dir: string;
  file: string;
  write: (yaml: Record<string, unknown>) => void;
  base: Record<string, unknown>;
}

/** Plugin dirs for every plugin of the test (listed or not), and a config writer; JSON is YAML. */
function setup(t: TestContext): Setup {
  const dir = tempDir(t, "nexo-reload-");
  const plugins = join(dir, "plugins");
  for (const id of ["steady", "gone", "tuned", "fresh"]) fixturePlugin(plugins, { id, mode: "echo" });
  fixturePlugin(plugins, { id: "stubborn", mode: "echo", env: { FIXTURE_NO_CONFIGURE: "1" } });
  const file = join(dir, "nexo.yaml");
  const base = { state_dir: join(dir, "state"), plugin_paths: [plugins], api: { enabled: false }, log_level: "info" };
  return { dir, file, base, write: (yaml) => writeFileSync(file, JSON.stringify({ ...base, ...yaml }, null, 2)) };
}

const BEFORE = {
  plugins: { steady: {}, gone: {}, tuned: { config: { level: 1 } }, stubborn: { config: { v: 1 } } },
  bindings: [
    { name: "steady-count", channel: "steady", workflow: "count", outbound: "none" },
    { name: "tuned-bind", channel: "tuned", workflow: "mark_a", outbound: "none" },
    { name: "gone-bind", channel: "gone", workflow: "count", outbound: "none" },
  ],
};

const AFTER = {
  plugins: { steady: {}, tuned: { config: { level: 2 } }, stubborn: { config: { v: 2 } }, fresh: {} },
  bindings: [
    { name: "steady-count", channel: "steady", workflow: "count", outbound: "none" },
    { name: "tuned-bind", channel: "tuned", workflow: "mark_b", outbound: "none" },
    { name: "fresh-bind", channel: "fresh", workflow: "mark_b", outbound: "none" },
  ],
  llm: { providers: { local: { kind: "openai", base_url: "http://127.0.0.1:9/v1", model: "m" } } },
  pollers: { jobs: [{ id: "later", kind: "rss", schedule: { every_secs: 3600 }, config: { url: "http://127.0.0.1:9/feed.xml" }, paused_on_boot: true }] },
};

async function startDaemon(t: TestContext, s: Setup): Promise<{ daemon: Daemon; marks: string[]; log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger("info");
  const marks: string[] = [];
  const daemon = await Daemon.start(loadConfig(s.file), {
    logger: log.logger,
    controlSocket: false,
    configure: (app) => {
      app.register("count", () => null);
      app.register("mark_a", (inputs) => void marks.push(`a:${JSON.stringify(inputs)}`));
      app.register("mark_b", (inputs) => void marks.push(`b:${JSON.stringify(inputs)}`));
    },
  });
  t.after(() => daemon.stop());
  await waitFor(() => daemon.host.list().every((p) => p.currentState === "ready"), "every plugin ready", 20_000);
  return { daemon, marks, log };
}

const pidOf = (daemon: Daemon, key: string): number | null => daemon.host.get(key)?.status().pid ?? null;

test("reload - add, remove and change plugins and bindings under a running daemon; not one event through the unchanged plugin is lost", async (t) => {
  const s = setup(t);
  s.write(BEFORE);
  const { daemon, marks } = await startDaemon(t, s);
  const pids = { steady: pidOf(daemon, "steady"), tuned: pidOf(daemon, "tuned"), stubborn: pidOf(daemon, "stubborn") };
  const echoed = new Counter();
  const lifecycle: string[] = [];
  const subs = [
    daemon.broker.subscribe("plugin.inbound.steady", () => echoed.inc(), { bufferSize: 100_000 }),
    daemon.broker.subscribe("plugin.lifecycle.>", (e: Event) => void lifecycle.push(e.topic), { bufferSize: 1000 }),
  ];
  t.after(() => subs.forEach((x) => x.unsubscribe()));

  // Events flow through the unchanged plugin before, during and after the reload, at most 32 in flight.
  s.write(AFTER);
  let sent = 0;
  let reloaded = false;
  const reload = daemon.reload().finally(() => (reloaded = true));
  while (!reloaded || sent < 300) {
    await echoed.reach(sent - 32);
    await daemon.broker.publish("plugin.outbound.steady", {
      id: `e${sent}`,
      timestamp: new Date().toISOString(),
      topic: "plugin.outbound.steady",
      source: "test",
      session_id: null,
      payload: { n: sent },
    });
    sent += 1;
  }
  const report = await reload;
  await echoed.reach(sent);
  assert.equal(echoed.value, sent, "every event published came back through the steady plugin");
  const stats = () => daemon.bindings.stats();
  await waitFor(() => stats().find((b) => b.name === "steady-count")?.received === sent, "the unchanged binding saw every event");
  assert.equal(daemon.host.get("steady")!.status().droppedEvents, 0);

  assert.deepEqual(report.plugins, { add: ["fresh"], replace: ["stubborn", "tuned"], remove: ["gone"], keep: ["steady"] });
  assert.deepEqual(report.reconfigure, ["stubborn", "tuned"]);
  assert.deepEqual(report.restarted, ["stubborn"], "the plugin without a configure handler was restarted");
  assert.deepEqual(report.failed, []);
  assert.deepEqual(report.bindings, { add: ["fresh-bind"], replace: ["tuned-bind"], remove: ["gone-bind"], keep: ["steady-count"] });
  assert.deepEqual(report.providers, { add: ["local"], replace: [], remove: [], keep: [] });
  assert.deepEqual(report.pollers, { add: ["later"], replace: [], remove: [], keep: [] });
  assert.deepEqual(report.needsRestart, []);

  // Plugins: the unchanged one and the reconfigured one kept their processes; the refusing one did not.
  assert.equal(pidOf(daemon, "steady"), pids.steady);
  assert.equal(pidOf(daemon, "tuned"), pids.tuned, "configure re-sent, no restart");
  assert.deepEqual(JSON.parse(readFileSync(join(s.base.state_dir as string, "plugins", "tuned", "config.json"), "utf8")), { value: { level: 2 } });
  assert.notEqual(pidOf(daemon, "stubborn"), pids.stubborn);
  assert.deepEqual(daemon.host.get("stubborn")!.spec.config, { v: 2 }, "it runs with the new config");
  assert.equal(daemon.host.get("gone"), undefined);
  assert.ok(lifecycle.includes("plugin.lifecycle.gone.stopped"), "the removed plugin was stopped through the supervisor");
  await waitFor(() => daemon.host.get("fresh")?.currentState === "ready", "the added plugin ready");

  // Bindings follow: the changed one runs its new workflow, the added one answers its channel.
  await daemon.broker.publish("plugin.outbound.tuned", {
    id: "t1",
    timestamp: new Date().toISOString(),
    topic: "plugin.outbound.tuned",
    source: "test",
    session_id: null,
    payload: { via: "tuned" },
  });
  await daemon.broker.publish("plugin.outbound.fresh", {
    id: "f1",
    timestamp: new Date().toISOString(),
    topic: "plugin.outbound.fresh",
    source: "test",
    session_id: null,
    payload: { via: "fresh" },
  });
  await waitFor(() => marks.length === 2, "both bindings ran");
  assert.deepEqual(marks.sort(), ['b:{"via":"fresh"}', 'b:{"via":"tuned"}']);
  assert.deepEqual(
    stats().map((b) => [b.name, b.workflow]),
    [
      ["steady-count", "count"],
      ["tuned-bind", "mark_b"],
      ["fresh-bind", "mark_b"],
    ],
  );

  // Providers and pollers.
  assert.deepEqual(daemon.app.llm.list(), ["local"]);
  assert.deepEqual(daemon.pollers?.jobIds, ["later"]);

  // The same file again: nothing to do, nothing touched.
  const again = await daemon.reload();
  assert.deepEqual(again.plugins.keep, ["fresh", "steady", "stubborn", "tuned"]);
  assert.deepEqual([again.plugins.add, again.plugins.replace, again.plugins.remove, again.bindings.replace], [[], [], [], []]);
  assert.equal(pidOf(daemon, "tuned"), pids.tuned);
});

test("reload - a config that does not validate changes nothing, and the daemon says why", async (t) => {
  const s = setup(t);
  s.write(BEFORE);
  const { daemon, log } = await startDaemon(t, s);
  const before = { pids: daemon.host.status().map((p) => [p.key, p.pid]), config: daemon.config, bindings: daemon.bindings.specs };

  writeFileSync(s.file, "plugins:\n  steady: {\n  broken");
  await assert.rejects(daemon.reload(), (e: any) => e.code === ErrorCodes.CONFIG_PARSE);

  // Parses and matches the schema, but names a plugin that does not exist, a workflow no module registered, and an unset secret.
  s.write({
    ...AFTER,
    plugins: { ...AFTER.plugins, nosuch: {}, fresh: { token_env: "NEXO_TEST_RELOAD_UNSET_VAR" } },
    bindings: [...AFTER.bindings, { channel: "steady", workflow: "unknown_wf" }],
  });
  await assert.rejects(daemon.reload(), (e: any) => {
    assert.equal(e.code, ErrorCodes.CONFIG_INVALID);
    const violations: Violation[] = e.details.data.violations;
    const lines = violations.map(violationLine);
    assert.equal(violations.length, 3, lines.join("\n"));
    assert.ok(violations.some((v) => v.path === "/plugins" && v.message.includes("nosuch")));
    assert.ok(violations.some((v) => v.path === "/plugins" && v.message.includes("NEXO_TEST_RELOAD_UNSET_VAR")));
    assert.ok(violations.some((v) => v.path === "/bindings" && v.message.includes("unknown_wf")));
    for (const line of lines) assert.ok(e.message.includes(line), `the message shows ${line}`);
    return true;
  });

  assert.deepEqual(
    daemon.host.status().map((p) => [p.key, p.pid]),
    before.pids,
    "no plugin started, stopped or restarted",
  );
  assert.equal(daemon.config, before.config);
  assert.equal(daemon.bindings.specs, before.bindings);
  assert.deepEqual(daemon.app.llm.list(), []);
  const refused = log.lines().filter((l) => l.msg === "config not reloaded: nothing changed");
  assert.deepEqual(
    refused.map((l) => l.code),
    [ErrorCodes.CONFIG_PARSE, ErrorCodes.CONFIG_INVALID],
  );
  assert.match(refused[1].err, /unknown_wf/);
});

test("reload - a plugin the embedder added itself is not the config's: a reload keeps it, and a config plugin taking its key is reported failed", async (t) => {
  const s = setup(t);
  s.write({ plugins: { steady: {} } });
  const own = fixturePlugin(join(s.dir, "embedder"), { id: "fresh", mode: "echo" });
  const daemon = await Daemon.start(loadConfig(s.file), { logger: captureLogger("info").logger, controlSocket: false, configure: (app) => void app.host.add({ manifest: own }) });
  t.after(() => daemon.stop());
  await waitFor(() => daemon.host.list().every((p) => p.currentState === "ready"), "both plugins ready", 20_000);
  const pid = pidOf(daemon, "fresh");

  s.write({ plugins: {} });
  const removed = await daemon.reload();
  assert.deepEqual(removed.plugins.remove, ["steady"]);
  assert.equal(pidOf(daemon, "fresh"), pid, "the embedder's plugin was not touched");

  s.write({ plugins: { fresh: {} } });
  const clash = await daemon.reload();
  assert.deepEqual(clash.plugins.add, ["fresh"]);
  assert.equal(clash.failed.length, 1);
  assert.match(clash.failed[0].error, /two plugins named fresh/);
  assert.equal(pidOf(daemon, "fresh"), pid);
  // Still not the config's: taking it out of the file again does not stop it.
  s.write({ plugins: {} });
  assert.deepEqual((await daemon.reload()).plugins.remove, []);
  assert.equal(pidOf(daemon, "fresh"), pid);
});

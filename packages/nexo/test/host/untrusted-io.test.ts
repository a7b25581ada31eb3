import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { PluginHost, type PluginHostOptions } from "../../src/host/index.js";
import { silentLogger, type Logger } from "../../src/log/index.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";
import { hostilePlugin, isAlive, type HostileOptions } from "../helpers/hostile-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

function setup(t: TestContext, logger: Logger = silentLogger(), overrides: Partial<PluginHostOptions> = {}) {
  const root = tempDir(t);
  const broker = new LocalBroker();
  const host = new PluginHost({
    broker,
    logger,
    nexoVersion: "0.1.0",
    stateRoot: join(root, "state"),
    timeouts: { initMs: 5000, shutdownReplyMs: 1000, killGraceMs: 300 },
    supervisor: { random: () => 0.5 },
    ...overrides,
  });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  const addHostile = (opts: HostileOptions) => host.add({ manifest: hostilePlugin(root, opts) });
  return { root, broker, host, addHostile };
}

function collect(broker: LocalBroker, pattern: string): Event[] {
  const seen: Event[] = [];
  broker.subscribe(pattern, (e) => void seen.push(e));
  return seen;
}

for (const depth of [10_000, 100_000]) {
  test(`host - frames nested ${depth} deep in every position are dropped and counted; the host and the plugin live on`, async (t) => {
    const { broker, host, addHostile } = setup(t);
    const seen = collect(broker, "plugin.inbound.deep");
    const sup = addHostile({ id: "deep", mode: "deep", env: { HOSTILE_DEPTH: String(depth) }, supervisor: { respawn: false } });
    await host.startAll();
    const pid = sup.status().pid;
    const done = (await waitFor(() => seen.find((e) => (e.payload as { done?: boolean })?.done), "the marker after the deep frames"))!;
    const sent = (done.payload as { sent: number }).sent;
    assert.equal(sent, 12, "six positions, arrays and objects");
    // The two requests among them were answered with an error, not left hanging.
    await waitFor(() => seen.filter((e) => (e.payload as { reply_to?: string })?.reply_to).length === 4, "error replies to the deep requests");
    for (const e of seen.filter((x) => (x.payload as { reply_to?: string })?.reply_to)) {
      assert.equal((e.payload as { error: { code: number } }).error.code, -32600);
    }
    const s = sup.status();
    assert.equal(s.state, "ready");
    assert.equal(s.pid, pid, "not restarted");
    assert.equal(s.badFrames, 12);
    assert.equal(s.ioFaults, 0);
    assert.equal(s.published, 1 + 4, "only the marker and the reports were published");
  });
}

test("host - a deeply nested reply to a pending request fails that request at once (result and error.data)", async (t) => {
  const { host, addHostile } = setup(t);
  addHostile({ id: "deeprep", mode: "clean", env: { HOSTILE_DEPTH: "10000" } });
  await host.startAll();
  for (const tool of ["deep_result", "deep_error"]) {
    await assert.rejects(host.invokeTool("deeprep", { tool_name: tool, args: {} }, 60_000), (err: unknown) => isNexoError(err) && err.code === ErrorCodes.CONTRACT_INVALID_FRAME);
  }
  assert.equal(host.require("deeprep").status().badFrames, 2);
});

test("host - a plugin that sends requests but never reads its stdin is restarted; its queue stays bounded", async (t) => {
  const cap = captureLogger("info");
  const { broker, host, addHostile } = setup(t, cap.logger);
  const lifecycle = collect(broker, "plugin.lifecycle.staller.>");
  const sup = addHostile({ id: "staller", mode: "stall", env: { HOSTILE_COUNT: "300000" }, supervisor: { max_attempts: 2, backoff_ms: 20 } });
  await host.startAll();
  const crashed = (await waitFor(() => lifecycle.find((e) => e.topic.endsWith(".crashed")), "the stalled plugin killed", 30_000))!;
  assert.match(String((crashed.payload as { reason?: string }).reason), /stopped reading its stdin/);
  await waitFor(() => sup.status().state === "ready" && sup.status().restarts === 1, "respawned (the second run reads)");
  const s = sup.status();
  assert.equal(s.stdinStalls, 1);
  const stall = cap.lines().filter((l) => l.msg?.includes("stopped reading its stdin"));
  assert.equal(stall.length, 1, "logged once");
  assert.ok(stall[0].queuedFrames <= 1024, `queued frames bounded: ${stall[0].queuedFrames}`);
  assert.ok(stall[0].queuedChars <= 16 * 1_048_576);
});

test("host - the host stamps source with the plugin's key; a spoofed source travels in metadata.plugin_source", async (t) => {
  const root = tempDir(t);
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: join(root, "state"), timeouts: { killGraceMs: 300 } });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  host.add({ manifest: fixturePlugin(root, { id: "spoofer", mode: "echo" }) });
  host.add({ manifest: fixturePlugin(root, { id: "spoofer", mode: "echo" }), instance: "two" });
  await host.startAll();
  const seen = collect(broker, "plugin.inbound.spoofer.>");
  const plain = collect(broker, "plugin.inbound.spoofer");
  await host.require("spoofer").call("test.publish", { topic: "plugin.inbound.spoofer", event: { source: "plugin.supervisor", payload: 1 } }, 5000);
  await host.require("spoofer").call("test.publish", { topic: "plugin.inbound.spoofer", event: { source: "spoofer", payload: 2, metadata: { k: "v" } } }, 5000);
  await host.require("spoofer.two").call("test.publish", { topic: "plugin.inbound.spoofer.two", event: { source: "other_plugin", payload: 3 } }, 5000);
  await waitFor(() => plain.length === 2 && seen.length === 1, "three events");
  assert.equal(plain[0].source, "spoofer");
  assert.deepEqual(plain[0].metadata, { plugin_source: "plugin.supervisor" });
  assert.equal(plain[1].source, "spoofer");
  assert.deepEqual(plain[1].metadata, { k: "v" }, "an honest source adds nothing");
  assert.equal(seen[0].source, "spoofer.two", "an instance is stamped with its key");
  assert.deepEqual(seen[0].metadata, { plugin_source: "other_plugin" });
});

for (const spam of ["denied", "bad"] as const) {
  test(`host - a flood of ${spam === "denied" ? "denied publishes" : "bad frames"} is counted exactly and logged a bounded number of times`, async (t) => {
    const cap = captureLogger("info");
    const { broker, host, addHostile } = setup(t, cap.logger);
    const seen = collect(broker, "plugin.inbound.spammer");
    const flood = 50_000;
    const sup = addHostile({ id: "spammer", mode: "spam", env: { HOSTILE_SPAM: spam, HOSTILE_COUNT: String(flood) } });
    const started = Date.now();
    await host.startAll();
    await waitFor(() => seen.length === 1, "the marker after the flood", 30_000);
    const elapsedMs = Date.now() - started;
    const s = sup.status();
    if (spam === "denied") assert.equal(s.deniedPublishes, flood);
    else assert.equal(s.badFrames, flood);
    const warned = cap.lines().filter((l) => l.level === 40 && l.plugin === "spammer");
    // 10 at once, then one per 10 s of the flood.
    const bound = 10 + Math.ceil(elapsedMs / 10_000);
    assert.ok(warned.length >= 10 && warned.length <= bound, `${warned.length} warn lines for ${flood} (bound ${bound})`);
    const last = warned[warned.length - 1];
    assert.equal(last.reason, spam === "denied" ? "topic_not_allowed" : "invalid_json");
  });
}

test("host - stderr lines are forwarded to the log with a rate limit; the tail keeps the latest", async (t) => {
  const cap = captureLogger("info");
  const { host, addHostile } = setup(t, cap.logger);
  const flood = 20_000;
  const sup = addHostile({ id: "noisy", mode: "spam", env: { HOSTILE_SPAM: "stderr", HOSTILE_COUNT: String(flood) } });
  const started = Date.now();
  await host.startAll();
  await waitFor(() => sup.status().stderrTail.includes("stderr-done"), "the last stderr line in the tail", 30_000);
  const elapsedMs = Date.now() - started;
  const forwarded = cap.lines().filter((l) => l.stream === "stderr");
  // 200 at once, then 10 a second.
  const bound = 200 + Math.ceil(elapsedMs / 100);
  assert.ok(forwarded.length >= 200 && forwarded.length <= bound, `${forwarded.length} stderr lines logged of ${flood} (bound ${bound})`);
});

test("host - a plugin that dies before initialize keeps its exit code and stderr tail (crashed event and status)", async (t) => {
  const root = tempDir(t);
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: join(root, "state"), supervisor: { random: () => 0.5 } });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  const events = collect(broker, "plugin.lifecycle.early.>");
  const sup = host.add({ manifest: fixturePlugin(root, { id: "early", mode: "crash-on-start", supervisor: { max_attempts: 1, backoff_ms: 20 } }) });
  await host.startAll();
  await waitFor(() => sup.status().state === "failed", "gave up");
  const crashed = events.filter((e) => e.topic.endsWith(".crashed")).map((e) => e.payload as { exit_code: number | null; stderr_tail: string[] });
  assert.ok(crashed.length >= 1);
  for (const c of crashed) {
    assert.equal(c.exit_code, 3);
    assert.ok(c.stderr_tail.includes("boom: crashing on start"), JSON.stringify(c.stderr_tail));
  }
  const s = sup.status();
  assert.equal(s.lastExitCode, 3);
  assert.ok(s.stderrTail.includes("boom: crashing on start"));
});

test("host - a channel kind has one owner: a second plugin registering it is refused, naming both", async (t) => {
  const { root, host } = setup(t);
  const first = host.add({ manifest: fixturePlugin(root, { id: "owner", kind: "echo", mode: "echo" }) });
  // The owner's instances share its kind.
  host.add({ manifest: fixturePlugin(root, { id: "owner", kind: "echo", mode: "echo" }), instance: "b" });
  assert.throws(
    () => host.add({ manifest: fixturePlugin(root, { id: "claimer", kind: "echo", mode: "echo" }) }),
    (err: unknown) => isNexoError(err) && err.code === ErrorCodes.HOST_CHANNEL_KIND_TAKEN && /claimer/.test(err.message) && /owner/.test(err.message),
  );
  const report = await host.startAll();
  assert.deepEqual(report.ready.sort(), ["owner", "owner.b"]);
  assert.equal(host.get("claimer"), undefined);
  assert.equal(first.status().state, "ready");
});

test("host - the 'plugin ready' line names the plugin's pid once, apart from the daemon's", async (t) => {
  const chunks: string[] = [];
  const { pino } = await import("pino");
  const { Writable } = await import("node:stream");
  const logger = pino({ level: "info" }, new Writable({ write: (c, _e, cb) => void (chunks.push(c.toString()), cb()) }));
  const { root, host } = setup(t, logger);
  const sup = host.add({ manifest: fixturePlugin(root, { id: "pidcheck", mode: "echo" }) });
  await host.startAll();
  const line = chunks
    .join("")
    .split("\n")
    .find((l) => l.includes('"plugin ready"'));
  assert.ok(line);
  assert.equal(line.match(/"pid":/g)?.length, 1, line);
  const parsed = JSON.parse(line);
  assert.equal(parsed.pid, process.pid);
  assert.equal(parsed.plugin_pid, sup.status().pid);
});

test("host - stopping a plugin kills its whole process group, children included", async (t) => {
  const { root, host, addHostile } = setup(t);
  const sup = addHostile({ id: "parent", mode: "ignore-all" });
  await host.startAll();
  const pidsFile = join(root, "state", "plugins", "parent", "pids.json");
  await waitFor(() => existsSync(pidsFile), "pids written");
  const pids = JSON.parse(readFileSync(pidsFile, "utf8")) as { plugin: number; child: number };
  assert.ok(isAlive(pids.child));
  await sup.stop();
  await waitFor(() => !isAlive(pids.plugin) && !isAlive(pids.child), "plugin and child gone", 5000);
});

test("host - a plugin that crashes while a child of its holds its pipes is seen to exit, and the child is killed", async (t) => {
  const { root, broker, host, addHostile } = setup(t);
  const lifecycle = collect(broker, "plugin.lifecycle.leaver.>");
  addHostile({ id: "leaver", mode: "crash-leaving-child", supervisor: { respawn: false } });
  await host.startAll();
  const crashed = (await waitFor(() => lifecycle.find((e) => e.topic.endsWith(".crashed")), "the crash seen"))!;
  assert.equal((crashed.payload as { exit_code: number }).exit_code, 5);
  const pids = JSON.parse(readFileSync(join(root, "state", "plugins", "leaver", "pids.json"), "utf8")) as { plugin: number; child: number };
  await waitFor(() => !isAlive(pids.child), "the child gone", 5000);
});

test("host - an exception while handling a plugin's line is a fault: counted, logged, the plugin restarted, the host unharmed", async (t) => {
  const { pino } = await import("pino");
  const errors: string[] = [];
  // A host bug a plugin's input reaches, simulated: logging a bad frame throws.
  const logger = pino(
    {
      level: "info",
      hooks: {
        logMethod(args, method, level) {
          if (args.some((a) => a === "dropped a bad frame from the plugin")) throw new RangeError("Maximum call stack size exceeded");
          if (level >= 50) errors.push(String(args[args.length - 1]));
          return method.apply(this, args);
        },
      },
    },
    { write: () => undefined },
  );
  const { broker, host, addHostile } = setup(t, logger);
  const lifecycle = collect(broker, "plugin.lifecycle.faulty.>");
  const sup = addHostile({ id: "faulty", mode: "spam", env: { HOSTILE_SPAM: "bad", HOSTILE_COUNT: "5" }, supervisor: { max_attempts: 1, backoff_ms: 20 } });
  await host.startAll();
  const crashed = (await waitFor(() => lifecycle.find((e) => e.topic.endsWith(".crashed")), "the faulty plugin restarted"))!;
  assert.match(String((crashed.payload as { reason?: string }).reason), /made the host fail/);
  assert.ok(sup.status().ioFaults >= 1);
  assert.ok(errors.some((m) => m.includes("restarting the plugin")));
});

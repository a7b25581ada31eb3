import assert from "node:assert/strict";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { parseBindings } from "../../../src/bindings/index.js";
import { normalizeConfig } from "../../../src/config/index.js";
import { appliedConfig, isEmptyPlan, planReload, type ReloadState } from "../../../src/daemon/reload/index.js";
import type { PluginSpec } from "../../../src/host/index.js";
import type { PluginManifest } from "../../../src/manifest/index.js";
import { fixturePlugin, tempDir } from "../../helpers/fixture-plugins.js";

/** One state from a raw nexo.yaml object and the plugin specs it would run. */
function state(dir: string, raw: Record<string, unknown>, plugins: PluginSpec[] = []): ReloadState {
  const config = normalizeConfig({ state_dir: join(dir, "state"), ...raw }, join(dir, "nexo.yaml"), dir);
  return { config, plugins, bindings: parseBindings(config.bindings) };
}

function manifests(t: TestContext): { dir: string; a: PluginManifest; b: PluginManifest; c: PluginManifest } {
  const dir = tempDir(t);
  return {
    dir,
    a: fixturePlugin(dir, { id: "alpha", mode: "echo" }),
    b: fixturePlugin(dir, { id: "beta", mode: "echo" }),
    c: fixturePlugin(dir, { id: "gamma", mode: "echo" }),
  };
}

test("reload plan - plugins: added, removed and kept by key; a config-only change is replaced by plugin.configure; an env change restarts", (t) => {
  const { dir, a, b, c } = manifests(t);
  const before = state(dir, {}, [
    { manifest: a, config: { greeting: "hi", nested: { x: 1, y: 2 } } },
    { manifest: b, env: { TOKEN: "one" } },
    { manifest: b, instance: "second", config: { n: 1 } },
    { manifest: c },
  ]);
  const after = state(dir, {}, [
    // Same value, other key order: unchanged.
    { manifest: a, config: { nested: { y: 2, x: 1 }, greeting: "hi" } },
    { manifest: b, env: { TOKEN: "two" } },
    { manifest: b, instance: "second", config: { n: 2 } },
    { manifest: c, instance: "new" },
  ]);
  const plan = planReload(before, after);
  assert.deepEqual(plan.plugins, { add: ["gamma.new"], replace: ["beta", "beta.second"], remove: ["gamma"], keep: ["alpha"] });
  assert.deepEqual(plan.reconfigure, ["beta.second"], "only the config changed: configure, no restart");
  assert.equal(isEmptyPlan(plan), false);
});

test("reload plan - a config value taken away restarts the plugin (there is no configure for 'none'); a manifest changed on disk restarts it", (t) => {
  const { dir, a, b } = manifests(t);
  const newer: PluginManifest = { ...b, version: "0.2.0" };
  const plan = planReload(
    state(dir, {}, [
      { manifest: a, config: { v: 1 } },
      { manifest: b, config: { v: 1 } },
    ]),
    state(dir, {}, [{ manifest: a }, { manifest: newer, config: { v: 2 } }]),
  );
  assert.deepEqual(plan.plugins.replace, ["alpha", "beta"]);
  assert.deepEqual(plan.reconfigure, []);
});

test("reload plan - routes follow their plugin: a restarted plugin's route is replaced, a reconfigured one's kept", (t) => {
  const { dir, a, b, c } = manifests(t);
  const http = (m: PluginManifest, prefix: string): PluginManifest => ({ ...m, http: { ...({} as NonNullable<PluginManifest["http"]>), mountPrefix: prefix, timeoutSeconds: 30 } });
  const before = state(dir, {}, [{ manifest: http(a, "/a"), config: { v: 1 } }, { manifest: http(b, "/b"), env: { K: "1" } }, { manifest: http(c, "/c") }]);
  const after = state(dir, {}, [
    { manifest: http(a, "/a"), config: { v: 2 } },
    { manifest: http(b, "/b"), env: { K: "2" } },
    { manifest: http(c, "/c"), instance: "x" },
  ]);
  const plan = planReload(before, after);
  assert.deepEqual(plan.routes, { add: ["/c/x"], replace: ["/b"], remove: ["/c"], keep: ["/a"] });
});

test("reload plan - bindings, poller jobs and LLM providers are compared by name; what did not change is kept", (t) => {
  const dir = tempDir(t);
  const job = (id: string, every: number) => ({ id, kind: "rss", schedule: { every_secs: every }, config: { url: "http://127.0.0.1:9/feed.xml" } });
  const before = state(dir, {
    bindings: [
      { name: "same", channel: "a", workflow: "w" },
      { name: "changed", channel: "b", workflow: "w" },
      { name: "gone", channel: "c", workflow: "w" },
    ],
    pollers: { jobs: [job("kept", 60), job("slower", 60), job("dropped", 60)] },
    llm: { providers: { local: { kind: "openai", base_url: "http://127.0.0.1:1/v1", model: "m" }, old: { kind: "anthropic" } } },
  });
  const after = state(dir, {
    bindings: [
      { name: "same", channel: "a", workflow: "w" },
      { name: "changed", channel: "b", workflow: "other" },
      { name: "new", channel: "d", workflow: "w" },
    ],
    pollers: { jobs: [job("kept", 60), job("slower", 600), job("added", 60)] },
    llm: { providers: { local: { kind: "openai", base_url: "http://127.0.0.1:1/v1", model: "m2" }, fresh: { kind: "openai" } } },
  });
  const plan = planReload(before, after);
  assert.deepEqual(plan.bindings, { add: ["new"], replace: ["changed"], remove: ["gone"], keep: ["same"] });
  assert.deepEqual(plan.pollers, { add: ["added"], replace: ["slower"], remove: ["dropped"], keep: ["kept"] });
  assert.deepEqual(plan.providers, { add: ["fresh"], replace: ["local"], remove: ["old"], keep: [] });
  assert.deepEqual(plan.needsRestart, [], "job-level changes apply live");
});

test("reload plan - settings: log_level and llm.default apply live; ports, store, broker, modules and pollers' shared settings need a restart, named without their values", (t) => {
  const dir = tempDir(t);
  const before = state(dir, {
    log_level: "info",
    api: { port: 8000 },
    store: "postgres://u:secret@127.0.0.1/a",
    workflows: ["./w.mjs"],
    pollers: { max_concurrency: 4, jobs: [] },
  });
  const after = state(dir, {
    log_level: "debug",
    api: { port: 9000 },
    store: "postgres://u:other-secret@127.0.0.1/a",
    broker: "nats://127.0.0.1:4222",
    workflows: ["./w.mjs", "./x.mjs"],
    pollers: { max_concurrency: 8, jobs: [] },
    llm: { default: "x", providers: { x: { kind: "openai" } } },
    timeouts: { plugin_init_ms: 100 },
  });
  const plan = planReload(before, after);
  assert.deepEqual(plan.settings, ["log_level", "llm.default"]);
  assert.deepEqual(plan.needsRestart, ["broker", "store", "api.port", "timeouts", "workflows", "pollers.max_concurrency"]);
  assert.ok(!JSON.stringify(plan).includes("secret"), "no value is shown");
  // What runs afterwards: the new file, except what waits for a restart.
  const applied = appliedConfig(before.config, after.config);
  assert.equal(applied.logLevel, "debug");
  assert.equal(applied.api.port, 8000);
  assert.equal(applied.store, before.config.store);
  assert.equal(applied.broker, "local");
  assert.deepEqual(applied.workflows, before.config.workflows);
  assert.equal(applied.pollers?.maxConcurrency, 4);
  assert.deepEqual(planReload({ ...after, config: applied }, after).needsRestart, plan.needsRestart, "still reported on the next reload");
  // A pollers section taken away leaves the service with no jobs and its settings; one put back with others is reported.
  const without = appliedConfig(before.config, state(dir, {}).config);
  assert.deepEqual([without.pollers?.jobs, without.pollers?.maxConcurrency], [[], 4]);
  assert.ok(planReload({ ...before, config: without }, state(dir, { pollers: { max_concurrency: 8, jobs: [] } })).needsRestart.includes("pollers.max_concurrency"));
});

test("reload plan - authorization, runs, schedules, cluster, memory.backend and the API's CORS and security headers are named as needing a restart, never dropped silently", (t) => {
  const { dir } = manifests(t);
  const before = state(dir, {});
  const after = state(dir, {
    api: { cors: { origins: ["https://app.example"] }, security_headers: false },
    memory: { backend: "vectors" },
    authorization: { rules: [{ principals: ["anonymous"], workflows: ["w"] }] },
    runs: { max_queued: 5 },
    schedules: [{ name: "tick", workflow: "w", every_seconds: 60 }],
    cluster: { work_sharing: false },
  });
  const plan = planReload(before, after);
  assert.deepEqual(plan.needsRestart, ["api.cors", "api.security_headers", "memory.backend", "authorization", "runs", "schedules", "cluster"]);
  const { config: applied } = { config: appliedConfig(before.config, after.config) };
  assert.deepEqual(planReload({ ...after, config: applied }, after).needsRestart, plan.needsRestart, "still reported on the next reload");
});

test("reload plan - the same config twice is an empty plan", (t) => {
  const { dir, a } = manifests(t);
  const raw = { bindings: [{ channel: "alpha", workflow: "w" }], llm: { providers: { p: { kind: "openai" } } } };
  const plan = planReload(state(dir, raw, [{ manifest: a, config: { v: 1 } }]), state(dir, raw, [{ manifest: a, config: { v: 1 } }]));
  assert.equal(isEmptyPlan(plan), true);
  assert.deepEqual(plan.plugins.keep, ["alpha"]);
  assert.deepEqual(plan.bindings.keep, ["w-0"]);
});

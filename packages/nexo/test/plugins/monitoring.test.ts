import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Registry } from "prom-client";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { NexusPlugin } from "../../src/app/index.js";
import { contributeMetrics, MonitoringPlugin } from "../../src/plugins/index.js";
import { newEvent } from "../../src/contract/index.js";
import { testApp } from "../helpers/app.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";
import { parsePromText, sampleValue } from "../helpers/prom-text.js";
import { waitFor } from "../helpers/wait.js";

async function scrape(
  app: { http: { inject: (o: { method: "GET"; url: string }) => Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }> } },
  path = "/metrics",
) {
  const res = await app.http.inject({ method: "GET", url: path });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  return parsePromText(res.body);
}

test("monitoring - reference API: backend and interval as properties; /metrics counts executions by workflow and outcome, durations and HTTP requests", async (t) => {
  const { app } = testApp(t);
  app.register("echo", (i) => i);
  app.register("boom", () => {
    throw new Error("nope");
  });
  const monitoringPlugin = new MonitoringPlugin();
  monitoringPlugin.backend = "prometheus";
  monitoringPlugin.interval = 30;
  await app.addPlugin(monitoringPlugin);
  await app.start();
  for (let i = 0; i < 3; i++) await app.http.inject({ method: "POST", url: "/workflows/echo/execute", payload: { i } });
  await app.http.inject({ method: "POST", url: "/workflows/boom/execute", payload: {} });
  await app.executeWorkflow("echo", { direct: true });
  await app.http.inject({ method: "GET", url: "/no/such/thing" });
  const m = await scrape(app);
  assert.equal(m.types.get("nexo_workflow_executions_total"), "counter");
  assert.equal(sampleValue(m, "nexo_workflow_executions_total", { workflow: "echo", outcome: "completed" }), 4);
  assert.equal(sampleValue(m, "nexo_workflow_executions_total", { workflow: "boom", outcome: "failed" }), 1);
  assert.equal(sampleValue(m, "nexo_workflow_duration_seconds_count", { workflow: "echo", outcome: "completed" }), 4);
  assert.equal(sampleValue(m, "nexo_workflow_duration_seconds_bucket", { workflow: "echo", outcome: "completed", le: "+Inf" }), 4);
  assert.ok(sampleValue(m, "nexo_workflow_duration_seconds_sum", { workflow: "echo", outcome: "completed" })! >= 0);
  assert.equal(sampleValue(m, "nexo_workflows_in_flight", { workflow: "echo" }), 0);
  assert.equal(sampleValue(m, "nexo_http_requests_total", { route: "/workflows/:name/execute", method: "POST", status: "200" }), 3);
  assert.equal(sampleValue(m, "nexo_http_requests_total", { route: "/workflows/:name/execute", method: "POST", status: "500" }), 1);
  assert.equal(sampleValue(m, "nexo_http_requests_total", { route: "unmatched", method: "GET", status: "404" }), 1, "unknown URLs share one label value");
  assert.equal(sampleValue(m, "nexo_http_request_duration_seconds_count", { route: "/workflows/:name/execute", method: "POST" }), 4);
  // Process metrics were collected at startup (then every `interval` s).
  assert.ok(sampleValue(m, "process_cpu_user_seconds_total")! > 0);
  assert.ok(m.samples.some((s) => s.name === "nodejs_heap_size_used_bytes"));
});

test("monitoring - the in-flight gauge counts running executions", async (t) => {
  const { app } = testApp(t);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  app.register("slow", async () => {
    await gate;
    return "done";
  });
  await app.addPlugin(new MonitoringPlugin({ processMetrics: false }));
  await app.start();
  const running = [app.executeWorkflow("slow", {}), app.executeWorkflow("slow", {})];
  assert.equal(sampleValue(await scrape(app), "nexo_workflows_in_flight", { workflow: "slow" }), 2);
  release();
  await Promise.all(running);
  assert.equal(sampleValue(await scrape(app), "nexo_workflows_in_flight", { workflow: "slow" }), 0);
});

test("monitoring - plugin states, subprocess restarts and denied publishes, broker throughput", async (t) => {
  const root = tempDir(t);
  const { app } = testApp(t);
  class Quiet extends NexusPlugin {
    get name() {
      return "quiet";
    }
  }
  await app.addPlugin(new Quiet());
  await app.addPlugin(new MonitoringPlugin({ processMetrics: false }));
  app.host.add({ manifest: fixturePlugin(root, { id: "badpub", mode: "bad-publisher" }) });
  app.host.add({ manifest: fixturePlugin(root, { id: "crasher", mode: "crash-once" }) });
  await app.start();
  await waitFor(
    () => app.host.status().find((s) => s.key === "crasher")?.restarts === 1 && app.host.status().every((s) => s.state === "ready"),
    "crasher restarted once and both ready",
  );
  await waitFor(() => app.host.status().find((s) => s.key === "badpub")?.deniedPublishes === 2, "two publishes denied");
  const sub = app.broker.subscribe("test.>", () => undefined);
  t.after(() => sub.unsubscribe());
  for (let i = 0; i < 5; i++) await app.broker.publish("test.x", newEvent("test.x", "t", { i }));
  await waitFor(() => app.broker.stats().delivered >= 5, "deliveries");
  const m = await scrape(app);
  assert.equal(sampleValue(m, "nexo_plugin_state", { plugin: "crasher", kind: "subprocess", state: "ready" }), 1);
  assert.equal(sampleValue(m, "nexo_plugin_state", { plugin: "crasher", kind: "subprocess", state: "failed" }), 0);
  assert.equal(sampleValue(m, "nexo_plugin_state", { plugin: "quiet", kind: "in-process", state: "ready" }), 1);
  assert.equal(sampleValue(m, "nexo_plugin_restarts_total", { plugin: "crasher" }), 1);
  assert.equal(sampleValue(m, "nexo_plugin_restarts_total", { plugin: "badpub" }), 0);
  assert.equal(sampleValue(m, "nexo_plugin_denied_publishes_total", { plugin: "badpub" }), 2);
  assert.equal(sampleValue(m, "nexo_plugin_dropped_events_total", { plugin: "badpub" }), 0);
  const stats = app.broker.stats();
  assert.equal(sampleValue(m, "nexo_broker_events_published_total"), stats.published);
  assert.equal(sampleValue(m, "nexo_broker_events_delivered_total"), stats.delivered);
  assert.equal(sampleValue(m, "nexo_broker_events_dropped_total"), 0);
  assert.ok(stats.published >= 6, "5 test events plus the good publish of badpub");
  assert.ok(sampleValue(m, "nexo_broker_subscriptions")! >= 1);
});

test("monitoring - two apps in one process keep separate registries", async (t) => {
  const a = testApp(t).app;
  const b = testApp(t).app;
  for (const app of [a, b]) {
    app.register("echo", (i) => i);
    await app.addPlugin(new MonitoringPlugin({ processMetrics: false }));
    await app.start();
  }
  await a.executeWorkflow("echo", {});
  await a.executeWorkflow("echo", {});
  await b.executeWorkflow("echo", {});
  assert.equal(sampleValue(await scrape(a), "nexo_workflow_executions_total", { workflow: "echo", outcome: "completed" }), 2);
  assert.equal(sampleValue(await scrape(b), "nexo_workflow_executions_total", { workflow: "echo", outcome: "completed" }), 1);
});

test("monitoring - other components contribute registries (before or after the plugin); a clashing one is left out and logged", async (t) => {
  const { app, logs } = testApp(t);
  const early = new Registry();
  const runs = new Counter({ name: "pollers_runs_total", help: "Poll runs", labelNames: ["poller"], registers: [early] });
  contributeMetrics(app, early);
  const monitoring = new MonitoringPlugin({ processMetrics: false, path: "/internal/metrics" });
  await app.addPlugin(monitoring);
  await app.start();
  new Counter({ name: "my_own_total", help: "Registered straight into the app's registry", registers: [monitoring.registry] }).inc(7);
  const late = new Registry();
  new Counter({ name: "late_total", help: "Added after start", registers: [late] }).inc(2);
  const offLate = monitoring.addRegistry(late);
  const clash = new Registry();
  new Counter({ name: "nexo_workflow_executions_total", help: "Clashes with nexo's own", registers: [clash] });
  contributeMetrics(app, clash);
  runs.inc({ poller: "rss" }, 3);
  const m = await scrape(app, "/internal/metrics");
  assert.equal(sampleValue(m, "pollers_runs_total", { poller: "rss" }), 3);
  assert.equal(sampleValue(m, "my_own_total"), 7);
  assert.equal(sampleValue(m, "late_total"), 2);
  assert.equal(m.help.get("nexo_workflow_executions_total"), "Workflow executions that ended, by workflow and outcome", "nexo's own family is kept");
  assert.ok(
    logs().some((l) => l.level === 50 && l.metric === "nexo_workflow_executions_total"),
    "the clash is logged",
  );
  offLate();
  assert.equal(sampleValue(await scrape(app, "/internal/metrics"), "late_total"), undefined);
});

test("monitoring - options are checked", () => {
  assert.throws(
    () => new MonitoringPlugin({ backend: "statsd" as never }),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && e.details.field === "backend",
  );
  const m = new MonitoringPlugin();
  assert.throws(
    () => (m.interval = 0),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && e.details.field === "interval",
  );
  assert.throws(
    () => new MonitoringPlugin({ buckets: [1, 0.5] }),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && e.details.field === "buckets",
  );
});

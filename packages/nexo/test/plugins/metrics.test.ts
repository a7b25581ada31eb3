import assert from "node:assert/strict";
import { test } from "node:test";
import type { Nexo } from "../../src/app/index.js";
import { NexusPlugin, PluginManager } from "../../src/app/index.js";
import { MetricsPlugin } from "../../src/plugins/index.js";
import { testApp } from "../helpers/app.js";

test("metrics - reference API: getMetrics() returns exactly the reference keys, zero before any request", async (t) => {
  const { app } = testApp(t);
  const metricsPlugin = new MetricsPlugin();
  app.addPlugin(metricsPlugin);
  assert.deepEqual(metricsPlugin.getMetrics(), { requests_total: 0, requests_success: 0, requests_failed: 0, total_duration: 0, avg_duration: 0, success_rate: 0 });
});

test("metrics - counts successes, failures, durations; derives avg_duration and success_rate", async (t) => {
  const { app } = testApp(t);
  app.register("ok", async () => {
    await new Promise((r) => setTimeout(r, 5));
    return 1;
  });
  app.register("bad", () => {
    throw new Error("x");
  });
  const metrics = new MetricsPlugin();
  app.addPlugin(metrics);
  await app.start();
  for (let i = 0; i < 3; i++) await app.executeWorkflow("ok", {});
  await assert.rejects(app.executeWorkflow("bad", {}));
  const m = metrics.getMetrics();
  assert.deepEqual(Object.keys(m).sort(), ["avg_duration", "requests_failed", "requests_success", "requests_total", "success_rate", "total_duration"]);
  assert.equal(m.requests_total, 4);
  assert.equal(m.requests_success, 3);
  assert.equal(m.requests_failed, 1);
  assert.equal(m.success_rate, 0.75);
  assert.ok(m.total_duration > 0);
  assert.equal(m.avg_duration, m.total_duration / 3);
});

test("metrics - reference API: a PluginManager registers MyCustomPlugin and MetricsPlugin; list() names both", async (t) => {
  const { app, logs } = testApp(t);
  class MyCustomPlugin extends NexusPlugin {
    get name() {
      return "my_custom_plugin";
    }
    override get version() {
      return "1.0.0";
    }
    override setup(nexusApp: Nexo) {
      this.app = nexusApp;
    }
  }
  const pm = new PluginManager(app);
  pm.register(new MyCustomPlugin());
  pm.register(new MetricsPlugin());
  assert.deepEqual(pm.list(), ["my_custom_plugin", "metrics"]);
  assert.ok(pm.get<MetricsPlugin>("metrics") instanceof MetricsPlugin);
  assert.ok(logs().some((l) => l.msg.startsWith("Plugin registered: metrics v")));
  app.register("ok", () => 1);
  await app.start();
  await app.executeWorkflow("ok", {});
  assert.equal(pm.get<MetricsPlugin>("metrics")!.getMetrics().requests_success, 1);
  assert.equal(await pm.unregister("metrics"), true);
  await app.executeWorkflow("ok", {});
  assert.deepEqual(pm.list(), ["my_custom_plugin"]);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { Nexo } from "../../src/app/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { NexusPlugin } from "../../src/app/index.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";
import { testApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

test("lifecycle - stop() lets in-flight workflows finish, then refuses new ones", async (t) => {
  const { app } = testApp(t);
  let release!: () => void;
  app.register("slow", () => new Promise<string>((r) => (release = () => r("finished"))));
  await app.start();
  const running = app.executeWorkflow("slow", {});
  await waitFor(() => release !== undefined, "handler running");
  const stopping = app.stop();
  await assert.rejects(app.executeWorkflow("slow", {}), (e) => isNexoError(e, ErrorCodes.APP_STOPPED));
  release();
  assert.equal(await running, "finished");
  await stopping;
  assert.equal(app.state, "stopped");
});

test("lifecycle - stop() aborts workflows still running after drainTimeoutMs, through ctx.signal", async (t) => {
  const { app, logs } = testApp(t, { drainTimeoutMs: 50 });
  let signal: AbortSignal | undefined;
  app.register("forever", (_i, ctx) => {
    signal = ctx.signal;
    return new Promise(() => undefined);
  });
  await app.start();
  const running = app.executeWorkflow("forever", {});
  await waitFor(() => signal !== undefined, "handler running");
  await app.stop();
  await assert.rejects(running, (e) => isNexoError(e, ErrorCodes.WORKFLOW_ABORTED));
  assert.equal(signal!.aborted, true);
  assert.ok(logs().some((l) => /aborting/.test(l.msg)));
});

test("lifecycle - services start before the app is running and stop in reverse order; start() is idempotent", async (t) => {
  const { app } = testApp(t);
  const order: string[] = [];
  for (const name of ["one", "two"]) {
    app.addService({ name, start: () => void order.push(`start ${name}`), stop: () => void order.push(`stop ${name}`) });
  }
  app.onStartup(() => void order.push("startup hook"));
  await Promise.all([app.start(), app.start()]);
  await app.stop();
  assert.deepEqual(order, ["start one", "start two", "startup hook", "stop two", "stop one"]);
  await assert.rejects(app.start(), (e) => isNexoError(e, ErrorCodes.APP_STOPPED));
});

test("lifecycle - a service failing to start fails start() and stops what had started", async (t) => {
  const { app } = testApp(t);
  const order: string[] = [];
  app.addService({ name: "ok", start: () => void order.push("start ok"), stop: () => void order.push("stop ok") });
  app.addService({ name: "bad", start: () => Promise.reject(new Error("port in use")), stop: () => void order.push("stop bad") });
  await assert.rejects(app.start(), (e) => isNexoError(e, ErrorCodes.PLUGIN_SETUP_FAILED) && /bad/.test(e.message) && /port in use/.test(e.message));
  assert.deepEqual(order, ["start ok", "stop ok"]);
  assert.equal(app.state, "stopped");
});

test("lifecycle - options are validated with the option's name, the value and its type", () => {
  assert.throws(
    () => new Nexo({ apiPort: 70000 }),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID) && /apiPort/.test(e.message) && /70000/.test(e.message),
  );
  assert.throws(
    () => new Nexo({ hookTimeoutMs: "5" as never }),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID) && /hookTimeoutMs/.test(e.message) && /string/.test(e.message),
  );
  assert.throws(
    () => new Nexo({ apiHost: "" }),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID),
  );
  for (const bad of ["https://app.example.com/", "https://app.example.com:443", "app.example.com", "ftp://x.example"]) {
    assert.throws(
      () => new Nexo({ mcpAllowedOrigins: ["http://ok.example", bad] }),
      (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID) && e.message.includes("mcpAllowedOrigins[1]") && e.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
  assert.deepEqual(new Nexo({ mcpAllowedOrigins: ["https://app.example.com", "http://10.0.0.5:3000"] }).options.mcpAllowedOrigins, [
    "https://app.example.com",
    "http://10.0.0.5:3000",
  ]);
});

test("lifecycle - one lifecycle for both kinds: a subprocess plugin starts with the app, shows in /health beside in-process ones, and gets shutdown at stop", async (t) => {
  const { app } = testApp(t);
  const root = tempDir(t);
  app.host.add({ manifest: fixturePlugin(root, { id: "fxecho", mode: "echo" }) });
  class Watcher extends NexusPlugin {
    readonly seen: string[] = [];
    get name() {
      return "watcher";
    }
    override setup(app: Nexo) {
      app.broker.subscribe("plugin.lifecycle.>", (e) => void this.seen.push(e.topic));
    }
  }
  const watcher = new Watcher();
  await app.addPlugin(watcher);
  await app.start();
  const health = (await app.http.inject({ method: "GET", url: "/health" })).json() as { status: string; plugins: Array<{ name: string; kind: string; state: string }> };
  assert.equal(health.status, "ok");
  assert.deepEqual(
    health.plugins.map((p) => [p.name, p.kind, p.state]),
    [
      ["watcher", "in-process", "ready"],
      ["fxecho", "subprocess", "ready"],
    ],
  );
  const pid = app.host.require("fxecho").status().pid!;
  assert.ok(pid > 0);
  await app.stop();
  assert.equal(app.host.require("fxecho").status().state, "stopped");
  assert.throws(() => process.kill(pid, 0), "the child has exited");
  assert.ok(watcher.seen.includes("plugin.lifecycle.fxecho.ready"), "an in-process plugin saw the subprocess plugin's lifecycle");
});

test("lifecycle - a failed subprocess plugin makes /health 503 without failing the app", async (t) => {
  const { app } = testApp(t);
  const root = tempDir(t);
  app.host.add({ manifest: fixturePlugin(root, { id: "bad", mode: "wrong-id", supervisor: { respawn: false } }) });
  await app.start();
  assert.equal(app.state, "running");
  const res = await app.http.inject({ method: "GET", url: "/health" });
  assert.equal(res.statusCode, 503);
  const body = res.json() as { status: string; plugins: Array<{ name: string; health: string; error?: string }> };
  assert.equal(body.status, "failed");
  assert.equal(body.plugins[0].health, "failed");
  assert.match(body.plugins[0].error ?? "", /bad/);
});

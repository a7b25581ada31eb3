import assert from "node:assert/strict";
import { test } from "node:test";
import { Nexo } from "../../src/app/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { NexusPlugin, PluginManager } from "../../src/app/index.js";
import { testApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

// The reference plugin API's "Plugin Base Class" (docs/writing-plugins.md), in TypeScript idiom.
class MyCustomPlugin extends NexusPlugin {
  readonly calls: string[] = [];
  get name() {
    return "my_custom_plugin";
  }
  override get description() {
    return "My custom Nexus plugin";
  }
  override get version() {
    return "1.0.0";
  }
  override setup(app: Nexo) {
    this.app = app;
    this.calls.push(`Setting up ${this.name}`);
  }
  override teardown() {
    this.calls.push(`Tearing down ${this.name}`);
  }
}

test("plugins - reference API: MyCustomPlugin via app.addPlugin is set up at once and torn down when the app stops", async (t) => {
  const { app, logs } = testApp(t);
  const plugin = new MyCustomPlugin();
  await app.addPlugin(plugin);
  assert.deepEqual(plugin.calls, ["Setting up my_custom_plugin"]);
  await app.start();
  await app.stop();
  assert.deepEqual(plugin.calls, ["Setting up my_custom_plugin", "Tearing down my_custom_plugin"]);
  assert.ok(logs().some((l) => l.msg === "Plugin registered: my_custom_plugin v1.0.0"));
});

test("plugins - reference API: lifecycle order is instantiated, setup, startup, shutdown, teardown", async (t) => {
  const { app } = testApp(t);
  const order: string[] = [];
  class PluginLifecycle extends NexusPlugin {
    constructor() {
      super();
      order.push("1. Plugin instantiated");
    }
    get name() {
      return "lifecycle_demo";
    }
    override setup(app: Nexo) {
      order.push("2. Plugin setup called");
      app.onStartup(() => void order.push("3. Nexus started, plugin running"));
      app.onShutdown(() => void order.push("5. Nexus shutting down"));
    }
    override teardown() {
      order.push("6. Plugin teardown called");
    }
  }
  app.addPlugin(new PluginLifecycle());
  await app.start();
  order.push("4. (the app runs)");
  await app.stop();
  assert.deepEqual(order, [
    "1. Plugin instantiated",
    "2. Plugin setup called",
    "3. Nexus started, plugin running",
    "4. (the app runs)",
    "5. Nexus shutting down",
    "6. Plugin teardown called",
  ]);
});

test("plugins - reference API: configuration through the constructor, with defaults", async (t) => {
  const { app } = testApp(t);
  const seen: unknown[] = [];
  class ConfigurablePlugin extends NexusPlugin<{ enabled?: boolean; log_level?: string; max_retries?: number }> {
    get name() {
      return "configurable";
    }
    override setup() {
      seen.push([this.config.enabled ?? true, this.config.log_level ?? "INFO", this.config.max_retries ?? 3]);
    }
  }
  await app.addPlugin(new ConfigurablePlugin({ enabled: true, log_level: "DEBUG", max_retries: 5 }));
  const pm = new PluginManager(app);
  await pm.register(
    new (class extends ConfigurablePlugin {
      override get name() {
        return "configurable_defaults";
      }
    })(),
  );
  assert.deepEqual(seen, [
    [true, "DEBUG", 5],
    [true, "INFO", 3],
  ]);
});

test("plugins - reference API: PluginManager register/get/list/unregister; duplicates refused; managers share the app's registry", async (t) => {
  const { app } = testApp(t);
  const pm = new PluginManager(app);
  const custom = new MyCustomPlugin();
  pm.register(custom);
  class Other extends NexusPlugin {
    get name() {
      return "metrics_like";
    }
  }
  pm.register(new Other());
  assert.deepEqual(pm.list(), ["my_custom_plugin", "metrics_like"]);
  assert.equal(pm.get("my_custom_plugin"), custom);
  assert.equal(pm.get("nope"), undefined);
  assert.throws(
    () => pm.register(new MyCustomPlugin()),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_DUPLICATE),
  );
  assert.deepEqual(app.plugins.list(), pm.list(), "one registry per app");
  assert.equal(await pm.unregister("my_custom_plugin"), true);
  assert.deepEqual(custom.calls, ["Setting up my_custom_plugin", "Tearing down my_custom_plugin"]);
  assert.equal(await pm.unregister("my_custom_plugin"), false);
  assert.deepEqual(pm.list(), ["metrics_like"]);
});

test("plugins - teardown runs in reverse order of setup, and one failing or hanging teardown does not stop the others", async (t) => {
  const { app, logs } = testApp(t, { hookTimeoutMs: 100 });
  const order: string[] = [];
  const make = (name: string, teardown: () => unknown) =>
    new (class extends NexusPlugin {
      get name() {
        return name;
      }
      override teardown() {
        order.push(name);
        return teardown() as void;
      }
    })();
  await app.addPlugin(make("a", () => undefined));
  await app.addPlugin(
    make("b", () => {
      throw new Error("b broke");
    }),
  );
  await app.addPlugin(make("c", () => new Promise(() => undefined)));
  await app.start();
  await app.stop();
  assert.deepEqual(order, ["c", "b", "a"]);
  const errs = logs().filter((l) => l.hook === "teardown");
  assert.deepEqual(errs.map((l) => l.plugin).sort(), ["b", "c"]);
});

test("plugins - invalid plugins and names are refused; a failing setup leaves nothing registered behind", async (t) => {
  const { app } = testApp(t);
  assert.throws(
    () => app.addPlugin({} as never),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_INVALID),
  );
  const named = (name: string) =>
    new (class extends NexusPlugin {
      get name() {
        return name;
      }
    })();
  for (const bad of ["", "9x", "a.b", "has space"])
    assert.throws(
      () => app.addPlugin(named(bad)),
      (e) => isNexoError(e, ErrorCodes.PLUGIN_INVALID),
      bad,
    );
  class Broken extends NexusPlugin {
    get name() {
      return "broken";
    }
    override setup(app: Nexo) {
      app.register("from_broken", () => 1);
      app.onWorkflowStarted(() => undefined);
      throw new Error("no database");
    }
  }
  assert.throws(
    () => app.addPlugin(new Broken()),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_SETUP_FAILED) && /no database/.test(e.message),
  );
  assert.equal(app.getWorkflow("from_broken"), undefined, "its workflow was removed");
  const statuses = app.plugins.statuses();
  assert.equal(statuses.find((s) => s.name === "broken")?.state, "failed");
});

test("plugins - async setup is awaited by start(), its hooks belong to it even after an await, and unregister removes them", async (t) => {
  const { app } = testApp(t);
  const seen: string[] = [];
  class Slow extends NexusPlugin {
    get name() {
      return "slow";
    }
    override async setup(app: Nexo) {
      await new Promise((r) => setTimeout(r, 20));
      app.onWorkflowCompleted((e) => void seen.push(e.workflowName));
      app.register("slow_wf", () => "ok");
    }
  }
  void app.addPlugin(new Slow());
  await app.start();
  assert.equal(app.plugins.statuses()[0].state, "ready");
  await app.executeWorkflow("slow_wf", {});
  await waitFor(() => seen.length === 1, "hook ran");
  await app.plugins.unregister("slow");
  assert.equal(app.getWorkflow("slow_wf"), undefined);
  app.register("after", () => 1);
  await app.executeWorkflow("after", {});
  assert.deepEqual(seen, ["slow_wf"], "the unregistered plugin's hook no longer runs");
});

test("plugins - a throwing or hanging workflow hook never breaks the workflow; failures are logged with the plugin's name", async (t) => {
  const { app, logs } = testApp(t, { hookTimeoutMs: 50 });
  class Rude extends NexusPlugin {
    get name() {
      return "rude";
    }
    override setup(app: Nexo) {
      app.onWorkflowStarted(() => {
        throw new Error("hook exploded");
      });
      app.onWorkflowCompleted(() => new Promise(() => undefined));
      app.onWorkflowFailed(async () => {
        throw new Error("async hook exploded");
      });
    }
  }
  await app.addPlugin(new Rude());
  app.register("fine", () => "result");
  app.register("fails", () => {
    throw new Error("handler failed");
  });
  await app.start();
  assert.equal(await app.executeWorkflow("fine", {}), "result");
  await assert.rejects(app.executeWorkflow("fails", {}), /handler failed/);
  await waitFor(() => logs().filter((l) => l.plugin === "rude" && l.hook).length >= 4, "four hook failures logged (started twice, completed timeout, failed)");
  const lines = logs().filter((l) => l.plugin === "rude" && l.hook);
  assert.ok(lines.some((l) => l.hook === "onWorkflowStarted" && /hook exploded/.test(l.msg)));
  assert.ok(lines.some((l) => l.hook === "onWorkflowCompleted" && l.code === ErrorCodes.PLUGIN_HOOK_TIMEOUT));
  assert.ok(lines.some((l) => l.hook === "onWorkflowFailed" && /async hook exploded/.test(l.msg)));
});

test("plugins - lifecycle events of in-process plugins are on the broker beside the subprocess ones", async (t) => {
  const { app } = testApp(t);
  const topics: string[] = [];
  app.broker.subscribe("plugin.lifecycle.>", (e) => void topics.push(e.topic));
  await app.addPlugin(new MyCustomPlugin());
  await app.start();
  await app.plugins.unregister("my_custom_plugin");
  await waitFor(() => topics.length === 2, "two lifecycle events");
  assert.deepEqual(topics, ["plugin.lifecycle.my_custom_plugin.started", "plugin.lifecycle.my_custom_plugin.stopped"]);
});

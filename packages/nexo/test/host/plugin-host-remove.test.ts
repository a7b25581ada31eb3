import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import type { Event } from "../../src/contract/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { PluginHost, type PluginSupervisor } from "../../src/host/index.js";
import { silentLogger } from "../../src/log/index.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";

test("host - remove: before-stop hooks run while the plugin still runs (also before a restart), then it is stopped and forgotten; its key and channel kind are free again", async (t) => {
  const root = tempDir(t);
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: join(root, "state"), timeouts: { killGraceMs: 300 } });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  const lifecycle: string[] = [];
  broker.subscribe("plugin.lifecycle.>", (e: Event) => void lifecycle.push(e.topic));
  const order: string[] = [];
  host.onBeforeStop(async (sup, reason) => {
    order.push(`before-stop ${sup.key} ${sup.currentState} (${reason})`);
    // A hook that throws is logged; the stop goes on.
    throw new Error("hook failure");
  });
  const removed: PluginSupervisor[] = [];
  host.onPluginRemoved((sup) => void removed.push(sup));

  const owner = host.add({ manifest: fixturePlugin(root, { id: "owner", kind: "shared", mode: "echo" }) });
  await host.startAll();
  const pid = owner.status().pid;
  assert.ok(pid);
  assert.throws(
    () => host.add({ manifest: fixturePlugin(root, { id: "claimer", kind: "shared", mode: "echo" }) }),
    (e: any) => e.code === ErrorCodes.HOST_CHANNEL_KIND_TAKEN,
  );

  await host.remove("owner", "removed from the config");
  assert.deepEqual(order, ["before-stop owner ready (removed from the config)"]);
  assert.equal(owner.currentState, "stopped");
  assert.ok(lifecycle.includes("plugin.lifecycle.owner.stopped"));
  assert.equal(host.get("owner"), undefined);
  assert.deepEqual(removed, [owner]);
  assert.throws(() => process.kill(pid!, 0), "the process is gone");
  await assert.rejects(host.remove("owner"), (e: any) => e.code === ErrorCodes.HOST_PLUGIN_NOT_FOUND);

  // The kind has no owner left: another plugin may take it, and the key may be used again.
  const claimer = host.add({ manifest: fixturePlugin(root, { id: "claimer", kind: "shared", mode: "echo" }) });
  const again = host.add({ manifest: fixturePlugin(root, { id: "owner", kind: "own", mode: "echo" }) });
  await Promise.all([claimer.start(), again.start()]);
  assert.deepEqual(
    host.status().map((s) => [s.key, s.state]),
    [
      ["claimer", "ready"],
      ["owner", "ready"],
    ],
  );
  // A restart is a stop on purpose too.
  await host.restart("claimer");
  assert.equal(order.at(-1), "before-stop claimer ready (restart requested)");
});

test("host - reconfigure: a new config is checked, kept for later spawns and sent to the running plugin; a plugin without a configure handler says so", async (t) => {
  const root = tempDir(t);
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: join(root, "state"), timeouts: { killGraceMs: 300 } });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  const takes = host.add({ manifest: fixturePlugin(root, { id: "takes", mode: "echo" }), config: { v: 1 } });
  const refuses = host.add({ manifest: fixturePlugin(root, { id: "refuses", mode: "echo", env: { FIXTURE_NO_CONFIGURE: "1" } }), config: { v: 1 } });
  await host.startAll();
  const pid = takes.status().pid;
  assert.equal(await takes.reconfigure({ v: 2 }), true);
  assert.deepEqual(JSON.parse(readFileSync(join(root, "state", "plugins", "takes", "config.json"), "utf8")), { value: { v: 2 } });
  assert.equal(takes.status().pid, pid, "no restart");
  // Kept for the next spawn: a restart configures the new process with it.
  await takes.restart();
  assert.deepEqual(takes.spec.config, { v: 2 });
  assert.deepEqual(JSON.parse(readFileSync(join(root, "state", "plugins", "takes", "config.json"), "utf8")), { value: { v: 2 } });

  assert.equal(await refuses.reconfigure({ v: 2 }), false, "-32601: the caller restarts it");
  assert.deepEqual(refuses.spec.config, { v: 2 });
});

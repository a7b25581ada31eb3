import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { PluginHost } from "../../src/host/index.js";
import { silentLogger } from "../../src/log/index.js";
import { loadManifest } from "../../src/manifest/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { waitFor } from "../helpers/wait.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples/", import.meta.url));

test("host - the TypeScript and Python echo plugins run side by side and events flow through both", async (t) => {
  const broker = new LocalBroker();
  const host = new PluginHost({ broker, logger: silentLogger(), nexoVersion: "0.1.0", stateRoot: join(tempDir(t), "state") });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  host.add({ manifest: loadManifest(join(EXAMPLES, "echo-ts"), { nexoVersion: "0.1.0" }) });
  host.add({ manifest: loadManifest(join(EXAMPLES, "echo-python"), { nexoVersion: "0.1.0" }) });
  const report = await host.startAll();
  assert.deepEqual(report.failed, []);
  const seen: Event[] = [];
  broker.subscribe("plugin.inbound.>", (e) => void seen.push(e), { bufferSize: 1024 });
  for (let i = 0; i < 50; i++) {
    await broker.publish("plugin.outbound.echo", newEvent("plugin.outbound.echo", "t", { lang: "ts", i }));
    await broker.publish("plugin.outbound.echo_py.room", newEvent("plugin.outbound.echo_py.room", "t", { lang: "py", i }));
  }
  await waitFor(() => seen.length === 100, "100 echoes", 20_000);
  const ts = seen.filter((e) => e.topic === "plugin.inbound.echo").map((e) => (e.payload as { i: number }).i);
  const py = seen.filter((e) => e.topic === "plugin.inbound.echo_py.room").map((e) => (e.payload as { i: number }).i);
  const order = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(ts, order);
  assert.deepEqual(py, order);
  assert.deepEqual(new Set(seen.map((e) => e.source)), new Set(["echo", "echo_py"]));
});

// The echo example, run as a real plugin against the built SDK (`npx tsc -b packages/plugin-sdk`
// first: it imports "nexo-plugin-sdk" like a user would). templates/ts is covered end to end by
// packages/nexo/test/surfaces/cli/plugin-dev.test.ts (`nexo plugin new` + `nexo plugin test`).
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { event, PluginProcess } from "./harness.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

async function checkEcho(p: PluginProcess, id: string): Promise<void> {
  const init = await p.request("initialize", { nexo_version: "0.1.0" });
  assert.equal(init.result.manifest.plugin.id, id);
  assert.equal(init.result.manifest.plugin.entrypoint.command, "node");
  assert.deepEqual(init.result.manifest.plugin.entrypoint.args, ["dist/main.js"]);
  assert.equal(init.result.manifest.plugin.channels.register[0].kind, id);
  assert.equal(init.result.server_version, `${id}-0.1.0`);
  assert.equal("tools" in init.result, false);

  const payload = { text: "héllo 👋 世界" };
  p.notify("broker.event", {
    topic: `plugin.outbound.${id}.room1`,
    event: { ...event(`plugin.outbound.${id}.room1`, payload), session_id: "s-1", correlation_id: "c-1" },
  });
  const second = event(`plugin.outbound.${id}`, { n: 2 });
  p.notify("broker.event", { topic: `plugin.outbound.${id}`, event: second });
  await p.waitFor(() => p.published().length === 2, "two echoes");
  const [a, b] = p.published().map((f) => f.params);
  assert.equal(a.topic, `plugin.inbound.${id}.room1`);
  assert.equal(a.event.topic, `plugin.inbound.${id}.room1`);
  assert.equal(a.event.source, id);
  assert.deepEqual(a.event.payload, payload);
  assert.equal(a.event.session_id, "s-1");
  assert.equal(a.event.correlation_id, "c-1");
  assert.match(a.event.id, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(a.event.timestamp)));
  assert.equal(b.topic, `plugin.inbound.${id}`);
  assert.equal(b.event.session_id, null);
  assert.equal(b.event.correlation_id, second.id, "an echo of an event without a correlation id is tied to that event");

  const r = await p.request("shutdown", { reason: "test" });
  assert.deepEqual(r.result, { ok: true });
  assert.equal((await p.exited).code, 0);
  assert.deepEqual(p.strayStdout, []);
}

test("sdk - examples/echo-ts mirrors plugin.outbound.echo[.x] to plugin.inbound.echo[.x] keeping session and correlation ids", async (t) => {
  const dir = join(ROOT, "examples", "echo-ts");
  const p = PluginProcess.spawn(t, [join(dir, "src", "main.ts")], {}, dir);
  await checkEcho(p, "echo");
});

import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { newEvent } from "../../packages/nexo/src/contract/index.js";
import { waitFor } from "../../packages/nexo/test/helpers/wait.js";
import { collect, startExampleDaemon, tempDir } from "./example-daemon.js";

/**
 * Pattern 1 in any language: the daemon started from `<exampleDir>/nexo.yaml`
 * runs only plugin `id`; events on plugin.outbound.<id>[.room] come back on
 * plugin.inbound.<id>[.room] in order with payload, session and correlation id;
 * on stop the plugin exits 0 by itself.
 */
export async function checkEchoExample(t: TestContext, exampleDir: string, id: string): Promise<void> {
  const { daemon, broker, stop } = await startExampleDaemon(t, exampleDir, { stateDir: tempDir(t) });
  assert.deepEqual(
    daemon.host.status().map((s) => [s.key, s.state]),
    [[id, "ready"]],
  );
  const { events } = collect(t, broker, "plugin.inbound.>");
  for (let i = 0; i < 20; i++) {
    const topic = i % 2 ? `plugin.outbound.${id}.room` : `plugin.outbound.${id}`;
    await broker.publish(topic, { ...newEvent(topic, "test", { i }), session_id: `s-${i}`, correlation_id: `c-${i}` });
  }
  await waitFor(() => events.length === 20, "20 echoes");
  events.forEach((e, i) => {
    assert.equal(e.topic, i % 2 ? `plugin.inbound.${id}.room` : `plugin.inbound.${id}`);
    assert.equal(e.source, id);
    assert.deepEqual(e.payload, { i });
    assert.equal(e.session_id, `s-${i}`);
    assert.equal(e.correlation_id, `c-${i}`);
  });
  const sup = daemon.host.require(id);
  await stop();
  const s = sup.status();
  assert.equal(s.lastExitCode, 0, `stderr: ${s.stderrTail.join("\n")}`);
  assert.equal(s.lastSignal, null);
}

// Pattern 1 end to end: the daemon started from examples/echo-ts/nexo.yaml runs
// the real echo plugin (node dist/main.js) and events make the round trip.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { newEvent } from "../../../packages/nexo/src/contract/index.js";
import { collect, startExampleDaemon, tempDir, waitFor } from "../../test-support/index.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));

test("echo-ts - nexo.yaml runs only the echo plugin; outbound events come back inbound in order with session and correlation ids; exits 0 on stop", async (t) => {
  const { daemon, broker, stop } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t) });
  assert.deepEqual(
    daemon.host.status().map((s) => [s.key, s.state]),
    [["echo", "ready"]],
  );
  const { events } = collect(t, broker, "plugin.inbound.>");
  for (let i = 0; i < 20; i++) {
    const topic = i % 2 ? "plugin.outbound.echo.room" : "plugin.outbound.echo";
    await broker.publish(topic, { ...newEvent(topic, "test", { i }), session_id: `s-${i}`, correlation_id: `c-${i}` });
  }
  await waitFor(() => events.length === 20, "20 echoes");
  events.forEach((e, i) => {
    assert.equal(e.topic, i % 2 ? "plugin.inbound.echo.room" : "plugin.inbound.echo");
    assert.equal(e.source, "echo");
    assert.deepEqual(e.payload, { i });
    assert.equal(e.session_id, `s-${i}`);
    assert.equal(e.correlation_id, `c-${i}`);
  });
  const sup = daemon.host.require("echo");
  await stop();
  const s = sup.status();
  assert.equal(s.lastExitCode, 0, `stderr: ${s.stderrTail.join("\n")}`);
  assert.equal(s.lastSignal, null);
});

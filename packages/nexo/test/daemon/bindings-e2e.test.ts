// Agent bindings as `nexo run` wires them: nexo.yaml -> real daemon -> real echo plugin child,
// driven by `nexo publish` over the control socket.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { normalizeConfig } from "../../src/config/index.js";
import type { Event } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

const NEXO = fileURLToPath(new URL("../../bin/nexo.js", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../../../examples", import.meta.url));

function nexoPublish(socket: string, topic: string, json: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NEXO, "publish", topic, json], { env: { ...process.env, NEXO_SOCKET: socket } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

function configFor(t: TestContext, bindings: unknown[]) {
  const dir = tempDir(t);
  return normalizeConfig(
    {
      state_dir: join(dir, "state"),
      plugin_paths: [EXAMPLES],
      plugins: { echo: {} },
      workflows: [join(EXAMPLES, "demo", "workflows.mjs")],
      api: { port: 0 },
      bindings,
    },
    join(dir, "nexo.yaml"),
    dir,
  );
}

test("daemon bindings - nexo publish -> echo plugin -> binding -> workflow -> outbound -> echo plugin again; the echo of the reply ends the chain", async (t) => {
  const config = configFor(t, [{ name: "echo-loop", channel: "echo", workflow: "echo" }]);
  const daemon = await Daemon.start(config, { logger: captureLogger("info").logger });
  t.after(() => daemon.stop());
  const seen: Event[] = [];
  const sub = daemon.broker.subscribe(">", (e) => void seen.push(e), { bufferSize: 10_000 });
  t.after(() => sub.unsubscribe());
  await waitFor(() => daemon.host.get("echo")?.currentState === "ready", "echo ready", 30_000);

  const pub = await nexoPublish(config.control.socket, "plugin.outbound.echo", '{"text":"hi"}');
  assert.equal(pub.code, 0, pub.stderr);
  const stats = () => daemon.bindings.stats()[0];
  await waitFor(() => stats().loopsStopped === 1, "the reply came back through the echo plugin and was not run again", 15_000);

  const on = (topic: string) => seen.filter((e) => e.topic === topic);
  const [first, reply] = on("plugin.outbound.echo");
  assert.equal(on("plugin.outbound.echo").length, 2, "the CLI's event and the binding's one reply");
  assert.equal(first.source, "nexo.cli");
  assert.equal(reply.source, "binding.echo-loop");
  assert.deepEqual(reply.payload, { text: "hi" }, "the echo workflow's result");
  const inbound = on("plugin.inbound.echo");
  assert.equal(inbound.length, 2);
  // The echo plugin's SDK ties its echo to the CLI's event; the binding keeps that correlation for its reply.
  assert.equal(inbound[0].correlation_id, first.id, "the echo is correlated to the event it answers");
  assert.equal(reply.correlation_id, inbound[0].correlation_id, "the reply is correlated to the inbound event that caused it");
  assert.equal(inbound[1].correlation_id, reply.correlation_id, "the echo plugin carried it back");
  assert.equal(on("workflow.echo.completed").length, 1, "the workflow ran exactly once");
  assert.equal(on("workflow.echo.completed")[0].payload && (on("workflow.echo.completed")[0].payload as any).channel, "echo");
  assert.deepEqual(
    { received: stats().received, completed: stats().completed, replies: stats().replies, failed: stats().failed },
    { received: 2, completed: 1, replies: 1, failed: 0 },
  );
});

test("daemon bindings - config errors stop the start: unknown workflow, invalid binding", async (t) => {
  await assert.rejects(
    Daemon.start(configFor(t, [{ channel: "echo", workflow: "nope" }]), { logger: captureLogger().logger }),
    (e: any) => e.code === ErrorCodes.BINDING_WORKFLOW_NOT_FOUND,
  );
  await assert.rejects(
    Daemon.start(configFor(t, [{ channel: "echo", workflow: "echo", outbound: "plugin.inbound.echo" }]), { logger: captureLogger().logger }),
    (e: any) => e.code === ErrorCodes.BINDING_INVALID,
  );
});

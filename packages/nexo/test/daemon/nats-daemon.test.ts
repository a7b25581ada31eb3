import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { NatsBroker } from "../../src/broker/index.js";
import { normalizeConfig } from "../../src/config/index.js";
import type { Event } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { newEvent } from "../../src/contract/index.js";
import { captureLogger } from "../helpers/log-capture.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples", import.meta.url));

test("daemon - distributed mode: two daemons on one nats-server share topics, plugins and workflow events", async (t) => {
  const server = await startNatsServer(t);
  if (!server) return;
  const dir = tempDir(t);
  const start = (name: string, extra: Record<string, unknown>) =>
    Daemon.start(
      normalizeConfig(
        { state_dir: join(dir, name), broker: server.url, api: { enabled: false }, plugin_paths: [EXAMPLES], workflows: [join(EXAMPLES, "demo", "workflows.mjs")], ...extra },
        null,
        dir,
      ),
      { logger: captureLogger().logger },
    );
  // A runs the echo plugin; B runs no plugin but the demo workflows.
  const a = await start("a", { plugins: { echo: {} } });
  const b = await start("b", { plugins: {} });
  // Stop daemons before the server: a client closing against a dead server waits for its drain deadline.
  t.after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await server.stop();
  });
  assert.equal(a.host.require("echo").status().state, "ready");
  assert.equal(b.host.list().length, 0);

  const seenOnB: Event[] = [];
  const sub = b.broker.subscribe("plugin.inbound.echo", (e) => void seenOnB.push(e));
  const wfOnA: Event[] = [];
  a.broker.subscribe("workflow.greet.completed", (e) => void wfOnA.push(e));
  // A NATS subscription is live once the server has processed it; flush is that round trip.
  await (b.broker as NatsBroker).flush();
  await (a.broker as NatsBroker).flush();

  // Published on B, served by A's plugin, seen back on B.
  await b.broker.publish("plugin.outbound.echo", newEvent("plugin.outbound.echo", "test", { text: "across daemons" }, { sessionId: "s-9" }));
  await waitFor(() => seenOnB.length === 1, "echo reply reached daemon B");
  assert.deepEqual(seenOnB[0].payload, { text: "across daemons" });
  assert.equal(seenOnB[0].source, "echo");
  assert.equal(seenOnB[0].session_id, "s-9");
  sub.unsubscribe();

  // A workflow run on B is visible to A as a broker event.
  await b.app.executeWorkflow("greet", { name: "Ada" });
  await waitFor(() => wfOnA.length === 1, "workflow event reached daemon A");
  assert.deepEqual((wfOnA[0].payload as { result: unknown }).result, { text: "hello, Ada" });
});

test("daemon - distributed mode: the same plugin on two daemons handles each event once (work sharing), and every copy handles it when work_sharing is off", async (t) => {
  const server = await startNatsServer(t);
  if (!server) return;
  const dir = tempDir(t);
  const start = (name: string, workSharing: boolean) =>
    Daemon.start(
      normalizeConfig(
        {
          state_dir: join(dir, name),
          broker: server.url,
          api: { enabled: false },
          plugin_paths: [EXAMPLES],
          plugins: { echo: {} },
          cluster: { work_sharing: workSharing, tools: { share: false } },
        },
        null,
        dir,
      ),
      { logger: captureLogger().logger },
    );
  const daemons = await Promise.all([start("a", true), start("b", true)]);
  const observer = await NatsBroker.connect(server.url);
  t.after(async () => {
    await observer.close();
    await Promise.all(daemons.map((d) => d.stop()));
    await server.stop();
  });
  const replies = new Map<number, number>();
  observer.subscribe("plugin.inbound.echo", (e) => void replies.set((e.payload as { n: number }).n, (replies.get((e.payload as { n: number }).n) ?? 0) + 1), { bufferSize: 1000 });
  await observer.flush();
  for (const d of daemons) await (d.broker as NatsBroker).flush();
  for (let n = 0; n < 200; n++) await observer.publish("plugin.outbound.echo", newEvent("plugin.outbound.echo", "test", { n }));
  await waitFor(() => replies.size === 200, "200 replies");
  await observer.flush();
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(
    [...replies.values()].every((c) => c === 1),
    "no event was handled by both daemons",
  );

  // With work sharing off both copies get every event: the old broadcast, on purpose.
  const c = await start("c", false);
  const d = await start("d", false);
  daemons.push(c, d);
  await (c.broker as NatsBroker).flush();
  await (d.broker as NatsBroker).flush();
  replies.clear();
  await observer.publish("plugin.outbound.echo", newEvent("plugin.outbound.echo", "test", { n: 1 }));
  // a+b (one group) answer once, c and d once each.
  await waitFor(() => replies.get(1) === 3, "three replies: one from the group, one each from c and d");
});

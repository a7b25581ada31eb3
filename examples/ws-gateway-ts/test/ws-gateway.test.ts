// Pattern 5 end to end: the real ws_gateway plugin (node dist/main.js) under the
// daemon started from examples/ws-gateway-ts/nexo.yaml, holding a WebSocket to
// a real WebSocket server on loopback that is killed and brought back.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { newEvent, type Event } from "../../../packages/nexo/src/contract/index.js";
import { collect, startExampleDaemon, tempDir, waitFor, type RawConfig } from "../../test-support/index.js";
import { FakeWsServer } from "./fake-ws-server.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));
const KEY = "ws_gateway";
const BACKOFF = { backoff_initial_ms: 50, backoff_max_ms: 400, backoff_jitter: 0.2 };

interface Status {
  state: string;
  attempt: number;
  delay_ms?: number;
  reason?: string;
}

async function startServer(t: TestContext, port = 0): Promise<FakeWsServer> {
  const server = await FakeWsServer.start(port);
  t.after(() => server.close());
  return server;
}

function pointAt(url: string): (raw: RawConfig) => void {
  return (raw) => {
    raw.plugins.ws_gateway.config = { ...raw.plugins.ws_gateway.config, url, ...BACKOFF };
  };
}

const statuses = (events: Event[]): Status[] => events.map((e) => e.payload as Status);

test("ws-gateway-ts - messages flow both ways; after the server dies the plugin retries with growing jittered delays and flows again once it is back", async (t) => {
  let server = await startServer(t);
  const port = server.port;
  const { daemon, broker } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), edit: pointAt(server.url) });
  const inbound = collect(t, broker, "plugin.inbound.ws").events;
  const status = collect(t, broker, "plugin.inbound.ws.status").events;
  await waitFor(() => server.open === 1, "the plugin connected");

  server.broadcast(JSON.stringify({ type: "greeting", n: 1 }));
  server.broadcast("plain text");
  server.broadcast(Buffer.from([0, 1, 2, 255]), true);
  await waitFor(() => inbound.length === 3, "three inbound events");
  assert.deepEqual(
    inbound.map((e) => e.payload),
    [{ type: "greeting", n: 1 }, { text: "plain text" }, { data_base64: "AAEC/w==" }],
  );
  assert.equal(inbound[0].source, KEY);

  await broker.publish("plugin.outbound.ws", newEvent("plugin.outbound.ws", "test", { say: "hi" }));
  await broker.publish("plugin.outbound.ws.room", newEvent("plugin.outbound.ws.room", "test", { say: "there" }));
  await waitFor(() => server.received.length === 2, "two outbound messages");
  assert.deepEqual(
    server.received.map((m) => JSON.parse(m)),
    [{ say: "hi" }, { say: "there" }],
  );

  // The server dies (no close frame). The plugin keeps retrying against a closed port.
  await server.kill();
  await waitFor(() => statuses(status).filter((s) => s.state === "reconnecting").length >= 4, "four reconnect attempts");
  const retries = statuses(status).filter((s) => s.state === "reconnecting");
  assert.equal(retries[0].reason, "close 1006", "an abrupt loss is reported as 1006");
  retries.slice(0, 4).forEach((s, i) => {
    assert.equal(s.attempt, i + 1);
    const base = Math.min(BACKOFF.backoff_max_ms, BACKOFF.backoff_initial_ms * 2 ** i);
    assert.ok(s.delay_ms! >= Math.floor(base * 0.8) && s.delay_ms! <= Math.ceil(base * 1.2), `attempt ${i + 1}: ${s.delay_ms} ms is not ${base} ms ±20 %`);
  });
  const tail = daemon.host.require(KEY).status().stderrTail.join("\n");
  assert.match(tail, /reconnect attempt 2 in \d+ ms/, "attempts are in the plugin's log too");

  // Sent while disconnected: kept and delivered after the reconnect, in order.
  await broker.publish("plugin.outbound.ws", newEvent("plugin.outbound.ws", "test", { queued: 1 }));
  await broker.publish("plugin.outbound.ws", newEvent("plugin.outbound.ws", "test", { queued: 2 }));

  server = await startServer(t, port);
  await waitFor(() => server.open === 1, "reconnected to the restarted server", 20_000);
  await waitFor(() => statuses(status).at(-1)?.state === "connected", "connected status");
  assert.equal(statuses(status).at(-1)!.attempt, 0, "the attempt counter resets once connected");
  await waitFor(() => server.received.length === 2, "the queued messages");
  assert.deepEqual(
    server.received.map((m) => JSON.parse(m)),
    [{ queued: 1 }, { queued: 2 }],
  );
  server.broadcast(JSON.stringify({ type: "after-restart" }));
  await waitFor(() => inbound.length === 4, "a message after the restart");
  assert.deepEqual(inbound[3].payload, { type: "after-restart" });
  assert.equal(daemon.host.require(KEY).status().restarts, 0, "the plugin process itself never restarted");
});

test("ws-gateway-ts - SIGTERM and a shutdown request mid-connection both send a close frame (1000) and exit 0", async (t) => {
  const server = await startServer(t);
  const { daemon, broker, stop } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), edit: pointAt(server.url) });
  const crashed = collect(t, broker, `plugin.lifecycle.${KEY}.crashed`).events;
  const sup = daemon.host.require(KEY);
  await waitFor(() => server.open === 1, "the plugin connected");

  // The SDK's default signal handling: drain, run onShutdown (close the socket), exit 0.
  process.kill(sup.status().pid!, "SIGTERM");
  await waitFor(() => crashed.length === 1 && server.closes.length === 1, "the plugin's exit reported and its connection closed");
  assert.deepEqual(server.closes, [{ code: 1000, reason: "plugin shutting down" }]);
  assert.equal((crashed[0].payload as { exit_code: number | null }).exit_code, 0);

  // Respawned by the supervisor, it connects again; then the daemon stops it with a shutdown request.
  await waitFor(() => server.open === 1 && server.connections === 2, "reconnected after the respawn");
  await stop();
  await waitFor(() => server.closes.length === 2, "the second connection closed");
  assert.deepEqual(server.closes, [
    { code: 1000, reason: "plugin shutting down" },
    { code: 1000, reason: "plugin shutting down" },
  ]);
  const s = sup.status();
  assert.equal(s.lastExitCode, 0, s.stderrTail.join("\n"));
  assert.equal(s.lastSignal, null, "exited by itself within the grace, not killed");
});

test("ws-gateway-ts - a peer that stops answering pings is dropped and the plugin reconnects", async (t) => {
  const server = await startServer(t);
  const edit = (raw: RawConfig): void => {
    pointAt(server.url)(raw);
    raw.plugins.ws_gateway.config.ping_interval_ms = 200;
  };
  const { daemon, broker } = await startExampleDaemon(t, EXAMPLE, { stateDir: tempDir(t), edit });
  const status = collect(t, broker, "plugin.inbound.ws.status").events;
  await waitFor(() => server.open === 1, "the plugin connected");
  server.stall();
  await waitFor(() => server.connections === 2 && statuses(status).at(-1)?.state === "connected", "a new connection after the stalled one was dropped");
  assert.match(daemon.host.require(KEY).status().stderrTail.join("\n"), /no pong within 200 ms; dropping the connection/);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { Nexo } from "../../src/app/index.js";
import { createBroker, NatsBroker } from "../../src/broker/index.js";
import { brokerClusterOptions } from "../../src/cluster/index.js";
import { clusterConfigFromYaml } from "../../src/config/index.js";
import { IntervalTally } from "../../src/broker/interval-tally.js";
import { newEvent } from "../../src/contract/index.js";
import { MonitoringPlugin } from "../../src/plugins/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { parsePromText, sampleValue } from "../helpers/prom-text.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";

test("broker - interval tally counts each position once however the ranges overlap", () => {
  const t = new IntervalTally();
  assert.equal(t.add(250, 300), 50);
  // Wider, from before: only what lies outside (250, 300] is new.
  assert.equal(t.add(100, 400), 250);
  assert.equal(t.add(150, 350), 0);
  assert.equal(t.add(400, 410), 10);
  assert.equal(t.add(500, 500), 0);
  assert.equal(t.add(600, 550), 0);
  assert.equal(t.add(420, 430), 10);
  assert.equal(t.add(405, 425), 10);
  assert.equal(t.total, 330);
});

/**
 * A publisher P and a worker S (the only member of its queue group) on one
 * nats-server. S's connection is dropped and remade while P keeps
 * publishing: P's own connection never breaks, so only S's confirmations
 * can tell P what S missed.
 */
test("broker - at-most-once losses a peer suffers while it re-subscribes are counted by the publisher as possibly lost (stats, log, /metrics), and nothing is counted without an outage", async (t) => {
  const server = await startNatsServer(t);
  if (!server) return;
  const log = captureLogger();
  const p = await NatsBroker.connect(server.url, { logger: log.logger, drainTimeoutMs: 200, lossAccounting: { syncIntervalMs: 20 } });
  const s = await NatsBroker.connect(server.url, { drainTimeoutMs: 200 });
  t.after(async () => {
    await Promise.all([p.close(), s.close()]);
    await server.stop();
  });
  const got = new Set<number>();
  s.subscribe("work.core", (e) => void got.add((e.payload as { n: number }).n), { queue: "w", bufferSize: 65_536 });
  await s.flush();
  const send = (n: number) => p.publish("work.core", newEvent("work.core", "test", { n }));

  // No outage: everything arrives, S confirms it all, nothing is counted.
  for (let n = 0; n < 1000; n++) await send(n);
  await waitFor(() => p.stats().peers === 1 && p.stats().unconfirmed === 0, "S confirmed the first 1000");
  assert.equal(got.size, 1000);
  assert.equal(p.stats().possiblyLost, 0);

  // S's connection drops and is remade (its subscriptions re-sent) while P publishes on.
  let n = 1000;
  void s.connection.reconnect();
  await waitFor(() => !s.isConnected, "S disconnected");
  while (!s.isConnected) {
    await send(n++);
    if (n % 10 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  const lastOfRun = n;
  // Connected is not yet subscribed: one round trip on S puts its subscriptions on the server before the last 200.
  await s.flush();
  for (let i = 0; i < 200; i++) await send(n++);
  await waitFor(() => p.stats().unconfirmed === 0 && got.has(n - 1), "S back and caught up", 20_000);
  const lost = [];
  for (let i = 1000; i < n; i++) if (!got.has(i)) lost.push(i);
  assert.ok(lost.length > 0, `S missed events while away (${lastOfRun - 1000} published meanwhile)`);
  const stats = p.stats();
  assert.equal(stats.unsent, 0, "P itself never lost NATS");
  assert.ok(lost.length <= (stats.possiblyLost ?? 0), `${lost.length} lost, ${stats.possiblyLost} counted`);
  const warned = log.lines().find((r) => r.level === 40 && /possibly lost/.test(String(r.msg)));
  assert.ok(warned, "the count is logged");
  assert.match(String(warned.reasons), /re-subscribed/);
  // Operators read it from /metrics too.
  const app = new Nexo({ broker: p, logger: captureLogger().logger, http: false, stateDir: tempDir(t) });
  await app.addPlugin(new MonitoringPlugin());
  await app.start();
  const metrics = parsePromText((await app.http.inject({ method: "GET", url: "/metrics" })).body);
  await app.stop();
  assert.equal(sampleValue(metrics, "nexo_broker_events_possibly_lost_total"), p.stats().possiblyLost);
  assert.equal(sampleValue(metrics, "nexo_broker_events_unsent_total"), 0);
  t.diagnostic(`lost ${lost.length}, counted ${stats.possiblyLost} of ${n - 1000} published across the re-subscription`);

  // Turned off from a config's cluster block: no markers, no count.
  const off = await createBroker(server.url, brokerClusterOptions(clusterConfigFromYaml({ loss_accounting: { enabled: false } }), "sqlite::memory:"));
  const offStats = off.stats();
  await off.close();
  assert.equal(offStats.possiblyLost, undefined);
  assert.equal(offStats.unsent, 0);

  // A broker that closes says goodbye: the publisher stops waiting for it at once.
  await s.close();
  await waitFor(() => p.stats().peers === 0, "S forgotten after its goodbye");
});

/**
 * The publisher stops while its worker is away: the only marker covering the
 * last events went out while the worker could not answer it. It is sent again,
 * so the publisher learns what the worker missed without publishing more and
 * without waiting for the worker to be declared dead.
 */
test("broker - a marker the peer missed while away is sent again once publishing stops, so the count settles without new events", async (t) => {
  const server = await startNatsServer(t);
  if (!server) return;
  const p = await NatsBroker.connect(server.url, { drainTimeoutMs: 200, lossAccounting: { syncIntervalMs: 20, peerTtlMs: 120_000 } });
  const s = await NatsBroker.connect(server.url, { drainTimeoutMs: 200 });
  t.after(async () => {
    await Promise.all([p.close(), s.close()]);
    await server.stop();
  });
  s.subscribe("work.core", () => undefined, { queue: "w" });
  await s.flush();
  const send = (n: number) => p.publish("work.core", newEvent("work.core", "test", { n }));
  for (let n = 0; n < 10; n++) await send(n);
  await waitFor(() => p.stats().peers === 1 && p.stats().unconfirmed === 0, "S confirmed the first 10");

  void s.connection.reconnect();
  await waitFor(() => !s.isConnected, "S disconnected");
  for (let n = 10; n < 20; n++) await send(n);
  // Past one marker interval: the marker for these 10 has gone out while S was away.
  await new Promise((r) => setTimeout(r, 60));
  await waitFor(() => s.isConnected, "S reconnected");
  await s.flush();
  await waitFor(() => p.stats().unconfirmed === 0, "the resent marker answered", 10_000);
  assert.ok((p.stats().possiblyLost ?? 0) >= 10, `the 10 sent while S was away are counted (${p.stats().possiblyLost})`);
});

// Pattern 7 end to end: the real sms_outbound plugin (node dist/main.js) under the
// daemon started from examples/sms-outbound-ts/nexo.yaml, sending through a fake
// of Twilio's Messages API on loopback.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { newEvent, type Event } from "../../../packages/nexo/src/contract/index.js";
import { collect, startExampleDaemon, tempDir, testBroker, waitFor } from "../../test-support/index.js";
import { FakeTwilio, HANGING_NUMBER, INVALID_NUMBER, SERVER_ERROR_NUMBER } from "./fake-twilio.js";

const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));
const KEY = "sms_outbound";
const ACCOUNT_SID = "AC5ef8732a3c49700934481addd5ce1659";
const TOKEN = "f3c1d2e4b5a6978812ab34cd56ef7890";
const FROM = "+15005550006";

interface Delivery {
  ok: boolean;
  status: string;
  provider_id: string | null;
  to: string | null;
  reason?: string;
  http_status: number | null;
  error_code?: number | null;
  retryable?: boolean;
  outbound_event_id: string;
}

/**
 * The fake API, and the token in the daemon's environment under the name the
 * yaml gives (auth_token_env: TWILIO_AUTH_TOKEN), as an operator would export it.
 */
async function startTwilio(t: TestContext): Promise<FakeTwilio> {
  const twilio = await FakeTwilio.start(ACCOUNT_SID, TOKEN);
  t.after(() => twilio.close());
  const saved = process.env.TWILIO_AUTH_TOKEN;
  process.env.TWILIO_AUTH_TOKEN = TOKEN;
  t.after(() => (saved === undefined ? delete process.env.TWILIO_AUTH_TOKEN : (process.env.TWILIO_AUTH_TOKEN = saved)));
  return twilio;
}

test("sms-outbound-ts - sends through the Messages API and publishes plugin.delivery.sms for every outbound event, failures (4xx, 5xx, timeout, invalid) included, with the correlation id; the token is never logged", async (t) => {
  const twilio = await startTwilio(t);

  const { daemon, broker, log } = await startExampleDaemon(t, EXAMPLE, {
    stateDir: tempDir(t),
    edit: (raw) => {
      assert.equal(raw.plugins.sms_outbound.auth_token_env, "TWILIO_AUTH_TOKEN");
      Object.assign(raw.plugins.sms_outbound.config, { api_base_url: twilio.baseUrl, account_sid: ACCOUNT_SID, from: FROM, timeout_ms: 3000 });
    },
  });
  const deliveries = collect(t, broker, "plugin.delivery.sms.>").events;
  const plain = collect(t, broker, "plugin.delivery.sms").events;
  const send = async (payload: unknown, correlationId: string, suffix = ""): Promise<Event> => {
    const topic = `plugin.outbound.sms${suffix}`;
    const ev = { ...newEvent(topic, "test", payload), correlation_id: correlationId, session_id: `session-${correlationId}` };
    await broker.publish(topic, ev);
    return ev;
  };
  const sent = new Map<string, Event>();
  sent.set("ok", await send({ to: "+15551234567", body: "your code is 1234" }, "ok"));
  sent.set("invalid", await send({ to: INVALID_NUMBER, body: "hello" }, "invalid"));
  sent.set("5xx", await send({ to: SERVER_ERROR_NUMBER, body: "hello" }, "5xx"));
  sent.set("timeout", await send({ to: HANGING_NUMBER, body: "hello" }, "timeout"));
  sent.set("local", await send({ to: "not a number", body: "hello" }, "local"));
  sent.set("sub", await send({ to: "+447700900123", body: "héllo 👋", from: "+15005550007" }, "sub", ".eu"));

  await waitFor(() => plain.length + deliveries.length === 6, "six delivery events");
  const by = new Map([...plain, ...deliveries].map((e) => [e.correlation_id!, e]));
  for (const [id, out] of sent) {
    const d = by.get(id);
    assert.ok(d, `a delivery for ${id}`);
    assert.equal(d.session_id, out.session_id, `${id}: session carried`);
    assert.equal((d.payload as Delivery).outbound_event_id, out.id);
    assert.equal(d.source, KEY);
    assert.equal(d.topic, id === "sub" ? "plugin.delivery.sms.eu" : "plugin.delivery.sms");
  }
  const p = (id: string): Delivery => by.get(id)!.payload as Delivery;

  assert.equal(p("ok").ok, true);
  assert.equal(p("ok").status, "queued");
  assert.match(p("ok").provider_id!, /^SM[0-9a-f]{32}$/);
  assert.deepEqual(twilio.messages.get(p("ok").provider_id!), { To: "+15551234567", From: FROM, Body: "your code is 1234" });
  assert.deepEqual(twilio.messages.get(p("sub").provider_id!), { To: "+447700900123", From: "+15005550007", Body: "héllo 👋" });

  assert.deepEqual(
    { ok: p("invalid").ok, status: p("invalid").status, reason: p("invalid").reason, http: p("invalid").http_status, code: p("invalid").error_code, retry: p("invalid").retryable },
    { ok: false, status: "failed", reason: "rejected", http: 400, code: 21211, retry: false },
  );
  assert.deepEqual([p("5xx").reason, p("5xx").http_status, p("5xx").error_code, p("5xx").retryable], ["provider_error", 500, 20500, true]);
  assert.deepEqual([p("timeout").reason, p("timeout").http_status, p("timeout").provider_id], ["timeout", null, null]);
  assert.deepEqual([p("local").reason, p("local").status, p("local").ok], ["invalid_request", "failed", false]);

  // What reached the API: form-encoded, authenticated, the local refusal never sent.
  assert.equal(twilio.requests.length, 5);
  assert.ok(twilio.requests.every((r) => r.authorized && r.contentType === "application/x-www-form-urlencoded"));
  assert.ok(!twilio.requests.some((r) => r.form.To === "not a number"));

  // A rotated token: 401 with Twilio's 20003 is a failed delivery, not a crash.
  twilio.authToken = "rotated";
  await send({ to: "+15551234567", body: "again" }, "unauthorized");
  await waitFor(() => plain.some((e) => e.correlation_id === "unauthorized"), "the 401 delivery");
  const denied = plain.find((e) => e.correlation_id === "unauthorized")!.payload as Delivery;
  assert.deepEqual([denied.reason, denied.http_status, denied.error_code], ["unauthorized", 401, 20003]);

  const status = daemon.host.require(KEY).status();
  assert.match(status.stderrTail.join("\n"), /sent SM[0-9a-f]{32} to \*+4567: queued/);
  for (const [where, text] of [
    ["daemon log", log()],
    ["plugin status", JSON.stringify(status)],
    ["delivery events", JSON.stringify([...plain, ...deliveries])],
  ]) {
    assert.ok(text.length > 0);
    assert.ok(!text.includes(TOKEN), `the auth token appears in the ${where}`);
  }
});

test("sms-outbound-ts - a send still unanswered at shutdown is reported as a failed delivery (reason shutdown) and the plugin exits 0", async (t) => {
  const twilio = await startTwilio(t);
  // Our own broker outlives the daemon: the delivery published during its shutdown stays readable.
  const broker = testBroker(t);
  const { daemon, stop } = await startExampleDaemon(t, EXAMPLE, {
    stateDir: tempDir(t),
    broker,
    edit: (raw) =>
      Object.assign(raw.plugins.sms_outbound.config, { api_base_url: twilio.baseUrl, account_sid: ACCOUNT_SID, from: FROM, timeout_ms: 60_000, shutdown_wait_ms: 200 }),
  });
  const plain = collect(t, broker, "plugin.delivery.sms").events;
  await broker.publish("plugin.outbound.sms", { ...newEvent("plugin.outbound.sms", "test", { to: HANGING_NUMBER, body: "hello" }), correlation_id: "late" });
  await waitFor(() => twilio.hanging === 1, "the request held by the provider");
  const sup = daemon.host.require(KEY);
  await stop();
  await waitFor(() => plain.length === 1, "the delivery published during shutdown");
  assert.equal(plain[0].correlation_id, "late");
  assert.deepEqual([(plain[0].payload as Delivery).reason, (plain[0].payload as Delivery).ok], ["shutdown", false]);
  assert.equal(sup.status().lastExitCode, 0);
  assert.equal(sup.status().lastSignal, null);
});

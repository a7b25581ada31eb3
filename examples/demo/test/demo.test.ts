// The bundled demo (`npm start`) end to end: a webhook POST becomes an SMS sent
// through the sms_outbound plugin to the Twilio-compatible sandbox, with the
// delivery status back on the broker; the echo plugins answer too.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { newEvent } from "../../../packages/nexo/src/contract/index.js";
import { freePort } from "../../../packages/nexo/test/helpers/nats-server.js";
import { waitFor } from "../../../packages/nexo/test/helpers/wait.js";
import { collect, startExampleDaemon, tempDir } from "../../test-support/example-daemon.js";

const DEMO = fileURLToPath(new URL("..", import.meta.url));
const SANDBOX_AUTH = `Basic ${Buffer.from("AC0000000000000000000000000000demo:sandbox-demo-token").toString("base64")}`;

test("demo - POST /webhook/demo -> binding -> notify -> sms_outbound -> Twilio sandbox -> plugin.delivery.sms", async (t) => {
  const port = await freePort();
  const { daemon, broker, log } = await startExampleDaemon(t, DEMO, {
    stateDir: tempDir(t),
    edit: (raw) => {
      // The demo names port 8000 twice (API and the SMS plugin's base URL): move both.
      raw.api = { port };
      raw.plugins.sms_outbound.config.api_base_url = `http://127.0.0.1:${port}/sandbox/twilio`;
    },
  });
  const base = `http://127.0.0.1:${port}`;
  assert.deepEqual(
    daemon.host
      .status()
      .map((s) => [s.key, s.state])
      .sort(),
    [
      ["echo", "ready"],
      ["echo_py", "ready"],
      ["sms_outbound", "ready"],
      ["webhook", "ready"],
    ],
  );
  const deliveries = collect(t, broker, "plugin.delivery.>").events;
  const sent = collect(t, broker, "sandbox.sms.sent").events;

  // The webhook route waits for the plugin's health check before routing.
  const res = await waitFor(async () => {
    const r = await fetch(`${base}/webhook/demo`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "order-42" },
      body: JSON.stringify({ to: "+15551234567", name: "Ada" }),
    });
    return r.status === 503 ? null : r;
  }, "webhook route ready");
  assert.equal(res.status, 202, await res.clone().text());

  await waitFor(() => deliveries.length === 1, `one delivery status\n${log()}`);
  const d = deliveries[0];
  assert.equal(d.topic, "plugin.delivery.sms");
  const p = d.payload as Record<string, unknown>;
  assert.equal(p.ok, true);
  assert.equal(p.status, "queued");
  assert.match(String(p.provider_id), /^SM[0-9a-f]{32}$/);
  assert.equal(p.to, "+15551234567");
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].payload, { sid: p.provider_id, to: "+15551234567", from: "+15005550006", body: "hello, Ada: your order has shipped" });

  // The sandbox lists it like Twilio's list endpoint, and refuses other credentials.
  const list = await fetch(`${base}/sandbox/twilio/2010-04-01/Accounts/AC0000000000000000000000000000demo/Messages.json`, { headers: { authorization: SANDBOX_AUTH } });
  assert.equal(((await list.json()) as { messages: Array<{ sid: string }> }).messages[0].sid, p.provider_id);
  const denied = await fetch(`${base}/sandbox/twilio/2010-04-01/Accounts/AC0000000000000000000000000000demo/Messages.json`, { headers: { authorization: "Basic eDp5" } });
  assert.equal(denied.status, 401);

  // An invalid webhook body fails the workflow's schema: no SMS, the failure is logged, the daemon carries on.
  await fetch(`${base}/webhook/demo`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ to: "not a number", name: "Bo" }) });
  await waitFor(() => /NEXO_ERR_WORKFLOW_INVALID_INPUT/.test(log()), "the binding logs the refused inputs");
  assert.equal(sent.length, 1);

  // Pattern 1 in both languages, the /metrics endpoint, and the reference plugin API's metrics plugin.
  const inbound = collect(t, broker, "plugin.inbound.*").events;
  for (const id of ["echo", "echo_py"]) await broker.publish(`plugin.outbound.${id}`, newEvent(`plugin.outbound.${id}`, "test", { text: "hi" }));
  await waitFor(() => inbound.filter((e) => e.topic.startsWith("plugin.inbound.echo")).length === 2, "both echoes");
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /nexo_workflow_executions_total\{[^}]*workflow="notify"[^}]*\} 1/);
  // Refused inputs never start a workflow, so the reference plugin API's counters saw one request, which succeeded.
  const m = (daemon.app.plugins.get("metrics") as unknown as { getMetrics(): Record<string, number> }).getMetrics();
  assert.deepEqual([m.requests_total, m.requests_success, m.requests_failed], [1, 1, 0]);
});

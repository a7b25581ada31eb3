import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { test } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { verifyWebhookSignature, WebhookPlugin } from "../../src/plugins/index.js";
import { testApp } from "../helpers/app.js";
import { loopbackServer, sendJson } from "../helpers/http-server.js";
import { waitFor } from "../helpers/wait.js";

const SECRET = "whsec_0123456789abcdef";

test("webhook - reference API: POSTs the reference payload on completion, signed; the receiver fails 3 times, the 4th attempt lands", async (t) => {
  let failures = 3;
  const verified: boolean[] = [];
  const receiver = await loopbackServer(t, (req, res) => {
    verified.push(verifyWebhookSignature(req.body, req.headers["x-nexo-signature-256"] as string, SECRET));
    if (failures-- > 0) return sendJson(res, 503, { error: "busy" });
    sendJson(res, 200, { ok: true });
  });
  const { app, logs } = testApp(t);
  app.register("greet", () => "hi");
  const webhookPlugin = new WebhookPlugin(`${receiver.url}/webhook`, { secret: SECRET, backoffMs: 1 });
  app.addPlugin(webhookPlugin);
  await app.start();
  const result = await app.executeWorkflow("greet", {});
  assert.equal(result, "hi");
  await waitFor(() => webhookPlugin.stats().delivered === 1, "delivery");
  assert.equal(receiver.received.length, 4);
  assert.deepEqual(verified, [true, true, true, true]);
  const bodies = new Set(receiver.received.map((r) => r.body.toString()));
  assert.equal(bodies.size, 1, "every retry sends the same bytes");
  const deliveries = new Set(receiver.received.map((r) => r.headers["x-nexo-delivery"]));
  assert.equal(deliveries.size, 1, "and the same delivery id");
  const payload = JSON.parse([...bodies][0]);
  assert.deepEqual(Object.keys(payload).sort(), ["duration", "status", "timestamp", "workflow", "workflow_id"]);
  assert.equal(payload.workflow, "greet");
  assert.equal(payload.status, "completed");
  assert.equal(typeof payload.duration, "number");
  assert.ok(!Number.isNaN(Date.parse(payload.timestamp)));
  assert.equal(receiver.received[0].method, "POST");
  assert.equal(receiver.received[0].url, "/webhook");
  assert.match(String(receiver.received[0].headers["content-type"]), /application\/json/);
  assert.equal(webhookPlugin.stats().retries, 3);
  assert.ok(!JSON.stringify(logs()).includes(SECRET), "the secret is never logged");
  // A tampered body fails verification.
  assert.equal(verifyWebhookSignature(Buffer.from(`${[...bodies][0]} `), receiver.received[0].headers["x-nexo-signature-256"] as string, SECRET), false);
});

test("webhook - a hanging receiver never slows the workflow; a full queue drops with a logged reason", async (t) => {
  const held: ServerResponse[] = [];
  const receiver = await loopbackServer(t, (_req, res) => void held.push(res));
  t.after(() => held.forEach((r) => r.destroy()));
  const { app, logs } = testApp(t);
  app.register("w", () => 1);
  const webhook = new WebhookPlugin({ url: receiver.url, concurrency: 1, queueSize: 2, timeoutMs: 60_000, drainTimeoutMs: 0 });
  app.addPlugin(webhook);
  await app.start();
  await app.executeWorkflow("w", {});
  await waitFor(() => held.length === 1, "the receiver holds the first delivery");
  // The receiver has not answered, yet workflows keep completing.
  for (let i = 0; i < 4; i++) assert.equal(await app.executeWorkflow("w", {}), 1);
  assert.equal(held.length, 1);
  const s = webhook.stats();
  assert.equal(s.inFlight, 1);
  assert.equal(s.queued, 2);
  assert.equal(s.dropped.queueFull, 2);
  assert.ok(logs().some((l) => l.reason === "queue full" && l.msg === "webhook delivery dropped: queue full"));
  await app.stop();
  const after = webhook.stats();
  assert.equal(after.dropped.shutdown, 3, "2 queued + 1 in flight dropped at shutdown");
  assert.ok(logs().some((l) => l.reason === "shutdown"));
});

test("webhook - a 4xx is not retried; retries are bounded; failed outcomes on request", async (t) => {
  let status = 400;
  const receiver = await loopbackServer(t, (_req, res) => sendJson(res, status, {}));
  const { app, logs } = testApp(t);
  app.register("ok", () => 1);
  app.register("bad", () => {
    throw new Error("x");
  });
  const webhook = new WebhookPlugin({ url: receiver.url, events: ["completed", "failed"], maxRetries: 2, backoffMs: 1 });
  app.addPlugin(webhook);
  await app.start();
  await app.executeWorkflow("ok", {});
  await waitFor(() => webhook.stats().dropped.rejected === 1, "rejected");
  assert.equal(receiver.received.length, 1);
  assert.ok(logs().some((l) => l.reason === "HTTP 400"));
  status = 500;
  await assert.rejects(app.executeWorkflow("bad", {}));
  await waitFor(() => webhook.stats().dropped.retriesExhausted === 1, "retries exhausted");
  assert.equal(receiver.received.length, 1 + 3);
  const failed = JSON.parse(receiver.received[1].body.toString());
  assert.equal(failed.status, "failed");
  assert.equal(failed.error.code, "NEXO_ERR_WORKFLOW_FAILED");
});

test("webhook - options are checked; the secret is hidden from toJSON and error messages", () => {
  assert.throws(
    () => new WebhookPlugin("ftp://example.com"),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && e.details.field === "url",
  );
  const w = new WebhookPlugin("https://example.com/hook", { secret: SECRET });
  assert.equal(JSON.stringify(w).includes(SECRET), false);
  assert.equal((w.toJSON().options as Record<string, unknown>).secret, "[redacted]");
});

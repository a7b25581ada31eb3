import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestLoggerPlugin } from "../../src/plugins/index.js";
import { redact } from "../../src/plugins/request-logger/index.js";
import { testApp } from "../helpers/app.js";

test("request logger - reference API: app.addPlugin(new RequestLoggerPlugin()) logs [REQUEST] and [RESPONSE] with the reference fields", async (t) => {
  const { app, logs } = testApp(t);
  app.register("greet", (i: { name: string }) => ({ text: `hi ${i.name}` }));
  app.addPlugin(new RequestLoggerPlugin());
  await app.start();
  await app.executeWorkflow("greet", { name: "Ada" }, { channel: "http" });
  const req = logs().find((l) => l.msg === "[REQUEST] greet - http");
  assert.ok(req, "request line");
  assert.equal(req.plugin, "request_logger");
  assert.equal(req.workflow, "greet");
  assert.equal(req.channel, "http");
  assert.deepEqual(req.inputs, { name: "Ada" });
  const res = logs().find((l) => l.msg === "[RESPONSE] greet");
  assert.ok(res, "response line");
  assert.equal(typeof res.duration, "number");
  assert.ok(res.duration >= 0);
  assert.equal(res.success, true);
  assert.equal(res.hasResult, true);
  assert.equal(res.workflowId, req.workflowId);
});

test("request logger - secrets in inputs are redacted at any depth; inputs can be left out; failures are logged", async (t) => {
  const { app, logs } = testApp(t);
  app.register("login", () => {
    throw new Error("bad password");
  });
  app.addPlugin(new RequestLoggerPlugin({ redactKeys: ["password", "apiKey", "ssn"] }));
  await app.start();
  await assert.rejects(app.executeWorkflow("login", { user: "ada", password: "hunter2", nested: { API_KEY: "k-123", list: [{ ssn: "000-00-0000" }] } }));
  const line = logs().find((l) => l.msg === "[REQUEST] login - local");
  assert.deepEqual(line?.inputs, { user: "ada", password: "[redacted]", nested: { API_KEY: "[redacted]", list: [{ ssn: "[redacted]" }] } });
  assert.ok(!JSON.stringify(logs()).includes("hunter2"));
  assert.ok(!JSON.stringify(logs()).includes("k-123"));
  const failed = logs().find((l) => l.msg === "[RESPONSE] login");
  assert.equal(failed?.success, false);
  assert.equal(failed?.error, "NEXO_ERR_WORKFLOW_FAILED");

  const { app: quiet, logs: quietLogs } = testApp(t);
  quiet.register("echo", (i) => i);
  const plugin = new RequestLoggerPlugin();
  plugin.includeInputs = false;
  quiet.addPlugin(plugin);
  await quiet.start();
  await quiet.executeWorkflow("echo", { token: "t" });
  const l = quietLogs().find((x) => x.msg === "[REQUEST] echo - local");
  assert.ok(l);
  assert.equal("inputs" in l, false);
});

test("request logger - redact survives cycles and depth", () => {
  const a: Record<string, unknown> = { token: "x", b: {} };
  (a.b as Record<string, unknown>).a = a;
  assert.deepEqual(redact(a, new Set(["token"])), { token: "[redacted]", b: { a: "[truncated]" } });
});

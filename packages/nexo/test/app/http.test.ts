import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes } from "../../src/errors.js";
import { testApp } from "../helpers/app.js";

const SCHEMA = { type: "object", required: ["name"], additionalProperties: false, properties: { name: { type: "string" }, n: { type: "integer" } } };

function appWithWorkflows(t: Parameters<typeof testApp>[0], options: Parameters<typeof testApp>[1] = {}) {
  const ctx = testApp(t, options);
  ctx.app.register("greet", (i: { name: string }) => ({ text: `hi ${i.name}` }), { inputSchema: SCHEMA, description: "Greets" });
  ctx.app.register("text", () => "plain string result");
  ctx.app.register("nothing", () => undefined);
  ctx.app.register("crash", () => {
    throw new Error("secret internal detail at /srv/app.js:42");
  });
  return ctx;
}

test("http - GET /workflows and /workflows/:name describe workflows with their schemas; unknown ones are 404", async (t) => {
  const { app } = appWithWorkflows(t);
  await app.start();
  const list = await app.http.inject({ method: "GET", url: "/workflows" });
  assert.equal(list.statusCode, 200);
  const body = list.json() as { workflows: Array<{ name: string; description: string; inputSchema: unknown }> };
  assert.deepEqual(
    body.workflows.map((w) => w.name),
    ["greet", "text", "nothing", "crash"],
  );
  assert.deepEqual(body.workflows[0], { name: "greet", description: "Greets", inputSchema: SCHEMA });
  const one = await app.http.inject({ method: "GET", url: "/workflows/greet" });
  assert.deepEqual(one.json(), { name: "greet", description: "Greets", inputSchema: SCHEMA });
  const missing = await app.http.inject({ method: "GET", url: "/workflows/nope" });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, ErrorCodes.WORKFLOW_NOT_FOUND);
});

test("http - POST /workflows/:name/execute: the body is the inputs and the response body the result, always JSON", async (t) => {
  const { app } = appWithWorkflows(t);
  await app.start();
  const ok = await app.http.inject({ method: "POST", url: "/workflows/greet/execute", payload: { name: "Ada" } });
  assert.equal(ok.statusCode, 200);
  assert.match(String(ok.headers["content-type"]), /application\/json/);
  assert.deepEqual(ok.json(), { text: "hi Ada" });
  const str = await app.http.inject({ method: "POST", url: "/workflows/text/execute", payload: {} });
  assert.equal(str.json(), "plain string result");
  const nothing = await app.http.inject({ method: "POST", url: "/workflows/nothing/execute" });
  assert.equal(nothing.statusCode, 200, "no body at all means no inputs");
  assert.equal(nothing.body, "null");
});

test("http - bad requests: 400 lists every violation, 404 unknown, 415 wrong type, 413 too large, 400 broken JSON", async (t) => {
  const { app } = appWithWorkflows(t, { maxBodyBytes: 1024 });
  await app.start();
  const bad = await app.http.inject({ method: "POST", url: "/workflows/greet/execute", payload: { n: "x", extra: 1 } });
  assert.equal(bad.statusCode, 400);
  const err = bad.json().error;
  assert.equal(err.code, ErrorCodes.WORKFLOW_INVALID_INPUT);
  assert.deepEqual(err.violations.map((v: { path: string }) => v.path).sort(), ["/extra", "/n", "/name"]);
  const notObject = await app.http.inject({ method: "POST", url: "/workflows/greet/execute", payload: [1, 2] });
  assert.equal(notObject.statusCode, 400);
  const unknown = await app.http.inject({ method: "POST", url: "/workflows/nope/execute", payload: {} });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error.code, ErrorCodes.WORKFLOW_NOT_FOUND);
  const wrongType = await app.http.inject({ method: "POST", url: "/workflows/greet/execute", payload: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(wrongType.statusCode, 415);
  assert.equal(wrongType.json().error.code, ErrorCodes.HTTP_UNSUPPORTED_MEDIA_TYPE);
  const big = await app.http.inject({ method: "POST", url: "/workflows/greet/execute", payload: { name: "x".repeat(2000) } });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().error.code, ErrorCodes.HTTP_PAYLOAD_TOO_LARGE);
  const broken = await app.http.inject({ method: "POST", url: "/workflows/greet/execute", payload: "{not json", headers: { "content-type": "application/json" } });
  assert.equal(broken.statusCode, 400);
  assert.equal(broken.json().error.code, ErrorCodes.HTTP_BAD_REQUEST);
  const route = await app.http.inject({ method: "GET", url: "/no/such/route" });
  assert.equal(route.statusCode, 404);
  assert.equal(route.json().error.code, ErrorCodes.HTTP_NOT_FOUND);
});

test("http - a crashing workflow is a 500 with an error id and no internals; the log has the details under that id", async (t) => {
  const { app, logs } = appWithWorkflows(t);
  await app.start();
  const res = await app.http.inject({ method: "POST", url: "/workflows/crash/execute", payload: {} });
  assert.equal(res.statusCode, 500);
  const err = res.json().error;
  assert.equal(err.code, ErrorCodes.HTTP_INTERNAL);
  assert.match(err.errorId, /^[0-9a-f-]{36}$/);
  assert.doesNotMatch(res.body, /secret internal detail|app\.js|stack/);
  const logged = logs().find((l) => l.errorId === err.errorId);
  assert.ok(logged, "logged under the error id");
  assert.match(JSON.stringify(logged), /secret internal detail/);
});

test("http - the HTTP surface calls executeWorkflow through the instance, so the reference monkey-patching wraps it", async (t) => {
  const { app } = appWithWorkflows(t);
  const original = app.executeWorkflow.bind(app);
  const seen: string[] = [];
  app.executeWorkflow = async (name, inputs, options) => {
    seen.push(`${name}:${options?.channel}`);
    return original(name, inputs, options);
  };
  await app.start();
  const res = await app.http.inject({ method: "POST", url: "/workflows/greet/execute", payload: { name: "x" }, headers: { "x-session-id": "conv-7" } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(seen, ["greet:http"]);
});

test("http - /openapi.json documents every workflow with its input schema as the request body", async (t) => {
  const { app } = appWithWorkflows(t);
  await app.start();
  const doc = (await app.http.inject({ method: "GET", url: "/openapi.json" })).json();
  assert.equal(doc.openapi, "3.1.0");
  const op = doc.paths["/workflows/greet/execute"].post;
  assert.deepEqual(op.requestBody.content["application/json"].schema, SCHEMA);
  assert.equal(op.summary, "Greets");
  assert.ok(doc.paths["/workflows/crash/execute"]);
  assert.ok(doc.paths["/health"]);
});

test("http - /health is 200 while running with every plugin listed, and the API answers on a real port", async (t) => {
  const { app } = appWithWorkflows(t, { http: true, apiPort: 0 });
  await app.start();
  assert.ok(app.port && app.port > 0);
  const health = await fetch(`${app.url}/health`);
  assert.equal(health.status, 200);
  const h = (await health.json()) as { status: string; state: string; plugins: unknown[] };
  assert.equal(h.status, "ok");
  assert.equal(h.state, "running");
  const res = await fetch(`${app.url}/workflows/greet/execute`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "net" }) });
  assert.deepEqual(await res.json(), { text: "hi net" });
  const url = app.url;
  await app.stop();
  assert.equal(app.port, null);
  await assert.rejects(fetch(`${url}/health`), "the port is closed after stop()");
});

test("http - a client that disconnects mid-execution aborts it: ctx.signal fires (real port, no AbortController per request)", async (t) => {
  const { app } = testApp(t, { http: true });
  let aborted!: () => void;
  const sawAbort = new Promise<void>((r) => (aborted = r));
  let started!: () => void;
  const isRunning = new Promise<void>((r) => (started = r));
  app.register("wait", (_i, ctx) => {
    started();
    return new Promise((resolve) => ctx.signal.addEventListener("abort", () => (aborted(), resolve("late"))));
  });
  await app.start();
  const client = new AbortController();
  const req = fetch(`${app.url}/workflows/wait/execute`, { method: "POST", body: "{}", headers: { "content-type": "application/json" }, signal: client.signal }).catch(
    (e: unknown) => e,
  );
  await isRunning;
  client.abort();
  await sawAbort;
  assert.ok((await req) instanceof Error);
  // A finished request never aborts its (already completed) execution.
  app.register("quick", () => "ok");
  const ok = await fetch(`${app.url}/workflows/quick/execute`, { method: "POST" });
  assert.equal(await ok.json(), "ok");
});

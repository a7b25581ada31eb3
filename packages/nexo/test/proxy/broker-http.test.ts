// Upstream's [plugin.http] without [plugin.capabilities.http_server]: requests under the mount
// prefix reach the plugin as broker requests on plugin.<id>.http.request, through a real child
// speaking raw JSON-RPC the way upstream plugins do (broker.subscribe, broker.event, broker.publish).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { ErrorCodes } from "../../src/errors.js";
import { loadManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { httpCall } from "../helpers/http-client.js";
import { waitFor } from "../helpers/wait.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/plugins/broker-http-plugin.mjs", import.meta.url));

/** An app on a free port with the broker-RPC fixture as plugin `bx`, mounted at /hooks/bx, started. */
async function startWith(t: TestContext, opts: { timeoutSeconds?: number; maxBodyBytes?: number; env?: Record<string, string>; respawn?: boolean } = {}) {
  const dir = join(tempDir(t), "bx");
  mkdirSync(dir, { recursive: true });
  const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    [
      "[plugin]",
      'id = "bx"',
      'version = "0.1.0"',
      "[plugin.entrypoint]",
      `command = ${JSON.stringify(process.execPath)}`,
      `args = [${JSON.stringify(FIXTURE)}]`,
      `env = { ${env.join(", ")} }`,
      "[plugin.supervisor]",
      `respawn = ${opts.respawn ?? false}`,
      "[plugin.http]",
      'mount_prefix = "/hooks/bx"',
      `timeout_seconds = ${opts.timeoutSeconds ?? 30}`,
      "",
    ].join("\n"),
  );
  const manifest = loadManifest(dir, { nexoVersion: NEXO_VERSION });
  assert.equal(manifest.http?.mode, "broker_rpc");
  const { app, logs } = testApp(t, { http: true, ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}) });
  app.host.add({ manifest });
  await app.start();
  return { app, logs };
}

async function waitRouted(url: string): Promise<void> {
  await waitFor(async () => (await httpCall(`${url}/hooks/bx/status?code=204`)).status === 204, "broker route answering", 15_000, 25);
}

test("broker http - a request reaches the plugin as {method, path, query, headers, body_base64} and its {status, headers, body_base64} is the answer", async (t) => {
  const { app } = await startWith(t);
  await waitRouted(app.url!);
  const body = JSON.stringify({ hello: "wörld" });
  const r = await httpCall(`${app.url}/hooks/bx/echo?instance=default&x=%20`, {
    method: "POST",
    headers: { "content-type": "application/json", "X-Custom-Case": "Kept", connection: "keep-alive, x-hop-req", "x-hop-req": "secret" },
    body,
  });
  assert.equal(r.status, 201);
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(r.headers["x-plugin"], "bx");
  assert.deepEqual(r.headers["set-cookie"], ["a=1", "b=2"], "repeated headers all reach the client");
  assert.equal(r.headers["content-length"], String(Buffer.byteLength(r.text)), "the length is the daemon's, not the plugin's claim");
  const seen = r.json;
  assert.equal(seen.method, "POST");
  assert.equal(seen.path, "/hooks/bx/echo", "the full path, prefix included, as upstream sends it");
  assert.equal(seen.query, "instance=default&x=%20", "the raw query, without ?");
  assert.equal(seen.body, body);
  assert.equal(seen.body_base64, Buffer.from(body).toString("base64"));
  const names = (seen.headers as Array<[string, string]>).map(([n]) => n);
  assert.ok(
    (seen.headers as Array<[string, string]>).some(([n, v]) => n === "X-Custom-Case" && v === "Kept"),
    "headers as [name, value] pairs, case as sent",
  );
  for (const hop of ["connection", "x-hop-req", "Connection"]) assert.ok(!names.includes(hop), `${hop} is not forwarded`);

  const get = await httpCall(`${app.url}/hooks/bx/echo`);
  assert.equal(get.json.method, "GET");
  assert.equal(get.json.query, "");
  assert.equal(get.json.body_base64, "");
  const teapot = await httpCall(`${app.url}/hooks/bx/status?code=418`);
  assert.equal(teapot.status, 418, "the plugin's status passes through");
  assert.equal(teapot.text, "as asked");
  const bare = await httpCall(`${app.url}/hooks/bx/bare`);
  assert.equal(bare.text, "bare answer", "an answer published without the message wrapper is taken as is");
});

test("broker http - binary bodies round-trip byte for byte both ways", async (t) => {
  const { app } = await startWith(t);
  await waitRouted(app.url!);
  const bytes = randomBytes(64 * 1024);
  const got = await new Promise<Buffer>((resolve, reject) => {
    const req = httpRequest(`${app.url}/hooks/bx/binary`, { method: "POST", agent: false, headers: { "content-type": "application/octet-stream" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks)));
    });
    req.on("error", reject);
    req.write(bytes.subarray(0, 1000));
    req.end(bytes.subarray(1000)); // chunked: no Content-Length
  });
  assert.equal(got.length, bytes.length + 256);
  assert.ok(got.subarray(0, bytes.length).equals(bytes), "the request body came back unchanged");
  assert.ok(got.subarray(bytes.length).equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i))), "every byte value survives");
});

test("broker http - 504 past timeout_seconds, and the route keeps working", async (t) => {
  const { app } = await startWith(t, { timeoutSeconds: 1 });
  await waitRouted(app.url!);
  const r = await httpCall(`${app.url}/hooks/bx/slow`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(r.status, 504);
  assert.equal(r.json.error.code, ErrorCodes.PROXY_TIMEOUT);
  assert.match(r.json.error.message, /bx.*1 s/);
  assert.equal((await httpCall(`${app.url}/hooks/bx/status?code=200`)).status, 200);
});

test("broker http - 502 for an answer that is not {status, headers: [[name, value]], body_base64}", async (t) => {
  const { app } = await startWith(t);
  await waitRouted(app.url!);
  for (const path of ["bad-status", "bad-base64", "bad-headers"]) {
    const r = await httpCall(`${app.url}/hooks/bx/${path}`);
    assert.equal(r.status, 502, path);
    assert.equal(r.json.error.code, ErrorCodes.PROXY_UPSTREAM_FAILED, path);
    assert.match(r.json.error.message, /bad reply/, path);
  }
});

test("broker http - a plugin that dies mid-request answers 502 at once, not after the timeout", async (t) => {
  const { app } = await startWith(t, { timeoutSeconds: 3600 });
  await waitRouted(app.url!);
  const r = await httpCall(`${app.url}/hooks/bx/die`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' });
  assert.equal(r.status, 502);
  assert.equal(r.json.error.code, ErrorCodes.PROXY_PLUGIN_DOWN);
  const after = await httpCall(`${app.url}/hooks/bx/echo`);
  assert.equal(after.status, 502, "down plugin: 502");
});

test("broker http - request bodies over the limit get 413, declared or chunked, and the plugin never sees them", async (t) => {
  const { app } = await startWith(t, { maxBodyBytes: 1024 });
  await waitRouted(app.url!);
  const ok = await httpCall(`${app.url}/hooks/bx/echo`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(1024) });
  assert.equal(ok.status, 201);
  assert.equal(ok.json.body.length, 1024, "a body at the limit passes");
  const big = await httpCall(`${app.url}/hooks/bx/echo`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(1025) });
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, ErrorCodes.HTTP_PAYLOAD_TOO_LARGE);
  const chunked = await httpCall(`${app.url}/hooks/bx/echo`, { method: "POST", headers: { "content-type": "text/plain", "transfer-encoding": "chunked" }, body: "y".repeat(1600) });
  assert.equal(chunked.status, 413);
});

test("broker http - the request goes to the plugin only, never onto the shared broker, and 503 until the plugin subscribes", async (t) => {
  const { app } = await startWith(t, { env: { FIXTURE_NO_SUBSCRIBE: "1" } });
  const seen: string[] = [];
  const sub = app.broker.subscribe(">", (e) => void seen.push(e.topic));
  t.after(() => sub.unsubscribe());
  await waitFor(() => app.host.get("bx")!.currentState === "ready", "plugin ready");
  const r = await httpCall(`${app.url}/hooks/bx/echo`);
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, ErrorCodes.PROXY_NOT_READY);
  assert.equal(r.headers["retry-after"], "1");
  assert.match(r.json.error.message, /has not subscribed to plugin\.bx\.http\.request/);
  assert.match(app.host.get("bx")!.status().route!, /^\/hooks\/bx -> broker plugin\.bx\.http\.request \(ready\)$/);

  const { app: app2 } = await startWith(t);
  const seen2: string[] = [];
  const sub2 = app2.broker.subscribe(">", (e) => void seen2.push(e.topic));
  t.after(() => sub2.unsubscribe());
  await waitRouted(app2.url!);
  assert.equal((await httpCall(`${app2.url}/hooks/bx/echo`)).status, 201);
  assert.deepEqual(
    seen2.filter((tp) => tp.includes("http.request") || tp.startsWith("_inbox")),
    [],
    "neither the request nor the answer crossed the shared broker",
  );
  assert.deepEqual(
    seen.filter((tp) => tp.includes("http.request")),
    [],
  );
});

test("broker http - a request forged on the shared broker never reaches the plugin; only the host's requests do", async (t) => {
  const { app, logs } = await startWith(t);
  await waitRouted(app.url!);
  const forged = { method: "GET", path: "/hooks/bx/echo", query: "", headers: [], body_base64: "" };
  await app.broker.publish("plugin.bx.http.request", {
    id: "01900000-0000-7000-8000-000000000001",
    timestamp: new Date().toISOString(),
    topic: "plugin.bx.http.request",
    source: "someone",
    session_id: null,
    payload: { id: "01900000-0000-7000-8000-000000000002", topic: "plugin.bx.http.request", reply_to: "_inbox.forged", payload: forged },
  });
  // Had the forged one been delivered, the plugin would have answered it (and been refused) before this answer.
  assert.equal((await httpCall(`${app.url}/hooks/bx/echo`)).status, 201);
  assert.deepEqual(
    logs().filter((l) => JSON.stringify(l).includes("_inbox.forged")),
    [],
    "the plugin never saw the forged request, so never answered it",
  );
});

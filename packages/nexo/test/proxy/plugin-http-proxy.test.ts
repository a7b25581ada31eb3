import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ErrorCodes, NexoError } from "../../src/errors.js";
import { findFreePort } from "../../src/proxy/index.js";
import type { PluginSpec } from "../../src/host/index.js";
import { testApp } from "../helpers/app.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { httpCall } from "../helpers/http-client.js";
import { httpFixturePlugin, type HttpFixtureOptions } from "../helpers/http-fixture.js";
import { waitFor } from "../helpers/wait.js";

/** An app listening on a free port with one HTTP fixture plugin per options entry, started. */
async function appWith(t: TestContext, plugins: Array<HttpFixtureOptions & { instance?: string }>, appOptions: { maxBodyBytes?: number; drainTimeoutMs?: number } = {}) {
  const root = tempDir(t);
  const { app, logs } = testApp(t, { http: true, ...appOptions });
  const specs: PluginSpec[] = [];
  for (const p of plugins) {
    const manifest = httpFixturePlugin(join(root, p.instance ?? "main"), p);
    const spec: PluginSpec = { manifest, ...(p.instance ? { instance: p.instance } : {}) };
    app.host.add(spec);
    specs.push(spec);
  }
  return { app, logs, specs, start: () => app.start() };
}

async function waitRouteReady(app: { url: string | null }, path: string): Promise<void> {
  await waitFor(async () => (await httpCall(`${app.url}${path}`)).status !== 503, `route ${path} ready`, 15_000, 25);
}

test("proxy - port = 0: the plugin gets a free loopback port in NEXO_PLUGIN_HTTP_PORT; every method is forwarded, the prefix stripped, path encoding and query kept", async (t) => {
  const { app, start } = await appWith(t, [{}]);
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  const port = app.proxy.portOf("web");
  assert.ok(port && port > 0, "a port was allocated");

  const direct = await httpCall(`http://127.0.0.1:${port}/echo`);
  assert.equal(direct.status, 200, "the plugin listens on the port it was given");

  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
    const body = method === "GET" ? undefined : `{"m":"${method}"}`;
    const r = await httpCall(`${app.url}/hooks/web/echo/a%2Fb?x=1&y=%20`, { method, headers: body ? { "content-type": "application/json" } : {}, body });
    assert.equal(r.status, 200, `${method}: ${r.text}`);
    assert.equal(r.json.method, method);
    assert.equal(r.json.url, "/echo/a%2Fb?x=1&y=%20", `${method}: prefix stripped, rest untouched`);
    if (body) assert.equal(r.json.body, body, `${method}: body forwarded as is`);
  }
  const head = await httpCall(`${app.url}/hooks/web/echo`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.text, "");
  const root = await httpCall(`${app.url}/hooks/web`);
  assert.equal(root.json.url, "/", "the bare prefix maps to /");
  // The plugin's pages keep their own page policy; the API's harmless headers stay.
  assert.equal(root.headers["content-security-policy"], undefined);
  assert.equal(root.headers["x-frame-options"], undefined);
  assert.equal(root.headers["x-content-type-options"], "nosniff");
  assert.match(String((await httpCall(`${app.url}/workflows`)).headers["content-security-policy"]), /default-src 'none'/);
  const slash = await httpCall(`${app.url}/hooks/web/?q=1`);
  assert.equal(slash.json.url, "/?q=1");
  const octet = await httpCall(`${app.url}/hooks/web/bin`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: Buffer.from([0, 1, 2, 255]) });
  assert.equal(octet.json.bytes, 4, "any content type is streamed, not parsed");
  const sibling = await httpCall(`${app.url}/hooks/webx`);
  assert.equal(sibling.status, 404, "only the prefix and paths below it are proxied");
});

test("proxy - X-Forwarded-For/Proto/Host/Prefix and X-Request-Id are set; hop-by-hop headers are stripped both ways", async (t) => {
  const { app, start } = await appWith(t, [{}]);
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  const r = await httpCall(`${app.url}/hooks/web/echo`, {
    headers: {
      connection: "keep-alive, x-drop-me",
      "x-drop-me": "secret",
      "keep-alive": "timeout=5",
      te: "trailers",
      "proxy-authorization": "Basic abc",
      "x-forwarded-for": "10.0.0.1",
      "x-forwarded-prefix": "/spoofed",
      "x-custom": "kept",
    },
  });
  const h = r.json.headers as Record<string, string>;
  for (const gone of ["x-drop-me", "keep-alive", "te", "proxy-authorization"]) assert.equal(h[gone], undefined, `${gone} not forwarded`);
  assert.equal(h["x-custom"], "kept");
  assert.equal(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1", "the client address is appended");
  assert.equal(h["x-forwarded-proto"], "http");
  assert.equal(h["x-forwarded-host"], new URL(app.url!).host);
  assert.equal(h["x-forwarded-prefix"], "/hooks/web", "set by the proxy, never the client's");
  assert.match(h["x-request-id"], /^[0-9a-f-]{36}$/, "a request id is generated when the client sends none");
  assert.equal(r.headers["x-request-id"], h["x-request-id"], "and returned to the client");
  assert.equal(h.host, `127.0.0.1:${app.proxy.portOf("web")}`);

  const given = await httpCall(`${app.url}/hooks/web/echo`, { headers: { "x-request-id": "delivery-42" } });
  assert.equal(given.json.headers["x-request-id"], "delivery-42", "a sane client request id is kept");
  const bogus = await httpCall(`${app.url}/hooks/web/echo`, { headers: { "x-request-id": "bad id with spaces" } });
  assert.notEqual(bogus.json.headers["x-request-id"], "bad id with spaces");

  const hop = await httpCall(`${app.url}/hooks/web/hop`);
  assert.equal(hop.status, 200);
  assert.equal(hop.headers["x-kept"], "yes");
  for (const gone of ["x-secret-hop", "proxy-authenticate"]) assert.equal(hop.headers[gone], undefined, `${gone} not returned`);
  assert.notEqual(hop.headers["keep-alive"], "timeout=5", "the plugin's keep-alive header is not passed on");
});

test("proxy - bodies stream both ways: the client reads the first chunk before the plugin finished, and the plugin answers before the client finished sending", async (t) => {
  const { app, start } = await appWith(t, [{}]);
  await start();
  await waitRouteReady(app, "/hooks/web/echo");

  // Response streaming: "first" arrives while the plugin still holds the response open.
  const firstChunk = await new Promise<{ chunk: string; rest: Promise<string> }>((resolve, reject) => {
    const req = httpRequest(`${app.url}/hooks/web/stream`, { agent: false }, (res) => {
      res.setEncoding("utf8");
      let all = "";
      const rest = new Promise<string>((done) => res.on("end", () => done(all)));
      res.once("data", (c: string) => {
        all += c;
        res.on("data", (d: string) => (all += d));
        resolve({ chunk: c, rest });
      });
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(firstChunk.chunk, "first\n");
  const release = await httpCall(`${app.url}/hooks/web/release`, { method: "POST" });
  assert.equal(release.status, 204);
  assert.equal(await firstChunk.rest, "first\nsecond\n");

  // Request streaming: the plugin's answer to the first chunk arrives while the request is still open.
  const early = await new Promise<string>((resolve, reject) => {
    const req = httpRequest(`${app.url}/hooks/web/early`, { method: "POST", agent: false, headers: { "content-type": "text/plain" } }, (res) => {
      res.setEncoding("utf8");
      let all = "";
      res.once("data", (c: string) => {
        assert.equal(c, "got-first\n");
        all += c;
        res.on("data", (d: string) => (all += d));
        req.end("second-part");
      });
      res.on("end", () => resolve(all));
    });
    req.on("error", reject);
    req.write("first-part");
  });
  assert.equal(early, `got-first\ntotal ${"first-part".length + "second-part".length}\n`);
});

test("proxy - request size limit: 413 from Content-Length before the plugin is contacted, and for a chunked body past the limit", async (t) => {
  const { app, start } = await appWith(t, [{}], { maxBodyBytes: 1024 });
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  const ok = await httpCall(`${app.url}/hooks/web/echo`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(1024) });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.bytes, 1024, "a body at the limit passes");
  const big = await httpCall(`${app.url}/hooks/web/echo`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(1025) });
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, ErrorCodes.HTTP_PAYLOAD_TOO_LARGE);
  const chunked = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = httpRequest(`${app.url}/hooks/web/echo`, { method: "POST", agent: false, headers: { "content-type": "text/plain", "transfer-encoding": "chunked" } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.write("y".repeat(800));
    req.end("y".repeat(800));
  });
  assert.equal(chunked.status, 413);
  assert.equal(chunked.body.error.code, ErrorCodes.HTTP_PAYLOAD_TOO_LARGE);
});

test("proxy - timeout_seconds: a plugin that does not answer in time gets 504 NEXO_ERR_PROXY_TIMEOUT", async (t) => {
  const { app, start, logs } = await appWith(t, [{ timeoutSeconds: 1 }]);
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  const r = await httpCall(`${app.url}/hooks/web/slow`);
  assert.equal(r.status, 504);
  assert.equal(r.json.error.code, ErrorCodes.PROXY_TIMEOUT);
  assert.match(r.json.error.message, /web.*1 s/);
  assert.ok(
    logs().some((l) => l.plugin === "web" && /504/.test(l.msg)),
    "the timeout is logged",
  );
  const after = await httpCall(`${app.url}/hooks/web/echo`);
  assert.equal(after.status, 200, "the route keeps working");
});

test("proxy - until health_path answers 2xx: 503 NEXO_ERR_PROXY_NOT_READY with Retry-After, then requests are routed", async (t) => {
  const { app, start } = await appWith(t, [{ gatedHealth: true }]);
  await start();
  assert.equal(app.host.get("web")!.currentState, "ready", "the process is up (handshake done)");
  const before = await httpCall(`${app.url}/hooks/web/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(before.status, 503);
  assert.equal(before.json.error.code, ErrorCodes.PROXY_NOT_READY);
  assert.equal(before.headers["retry-after"], "1");
  assert.match(app.host.get("web")!.status().route!, /waiting for GET \/health/);
  writeFileSync(join(app.options.stateDir, "plugins", "web", "healthy"), "");
  await waitFor(async () => (await httpCall(`${app.url}/hooks/web/echo`)).status === 200, "route healthy", 15_000, 25);
  assert.match(app.host.get("web")!.status().route!, /\(ready\)$/);
});

test("proxy - a killed plugin answers 502 NEXO_ERR_PROXY_PLUGIN_DOWN; after a restart it gets its port again and is routed", async (t) => {
  const { app, start } = await appWith(t, [{ supervisor: { respawn: false } }]);
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  const port = app.proxy.portOf("web");
  const pid = app.host.get("web")!.status().pid!;
  process.kill(pid, "SIGKILL");
  await waitFor(() => app.host.get("web")!.currentState === "failed", "plugin failed");
  const down = await httpCall(`${app.url}/hooks/web/echo`);
  assert.equal(down.status, 502);
  assert.equal(down.json.error.code, ErrorCodes.PROXY_PLUGIN_DOWN);
  assert.match(down.json.error.message, /plugin web is down.*nexo plugin restart web/);
  assert.match(app.host.get("web")!.status().route!, /plugin down/);

  await app.host.restart("web");
  await waitRouteReady(app, "/hooks/web/echo");
  const up = await httpCall(`${app.url}/hooks/web/pid`);
  assert.equal(up.status, 200);
  assert.notEqual(Number(up.text), pid, "a new process answers");
  assert.equal(app.proxy.portOf("web"), port, "the same port, since it was free");
});

test("proxy - the app's HTTP hooks (auth, rate limits) apply to proxied routes", async (t) => {
  const { app, start } = await appWith(t, [{}]);
  const seen: Array<{ url: string; status: number }> = [];
  app.http.addHook("onRequest", async (request, reply) => {
    if (request.headers["x-api-key"] !== "let-me-in") throw new NexoError(ErrorCodes.AUTH_UNAUTHENTICATED, "missing API key");
    reply.header("x-ratelimit-remaining", "41");
  });
  app.http.addHook("onResponse", async (request, reply) => {
    seen.push({ url: request.url, status: reply.statusCode });
  });
  await start();
  await waitFor(async () => (await httpCall(`${app.url}/hooks/web/echo`, { headers: { "x-api-key": "let-me-in" } })).status === 200, "route ready", 15_000, 25);
  const denied = await httpCall(`${app.url}/hooks/web/echo`);
  assert.equal(denied.status, 401);
  assert.equal(denied.json.error.code, ErrorCodes.AUTH_UNAUTHENTICATED);
  const ok = await httpCall(`${app.url}/hooks/web/hop`, { headers: { "x-api-key": "let-me-in" } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers["x-ratelimit-remaining"], "41", "headers the app set before forwarding reach the client");
  assert.equal(ok.headers["x-kept"], "yes", "beside the plugin's own");
  await waitFor(() => seen.some((s) => s.url === "/hooks/web/hop" && s.status === 200), "onResponse hook saw the proxied answer");
});

test("proxy - the route shows in plugin status and in /health details", async (t) => {
  const { app, start } = await appWith(t, [{}]);
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  const port = app.proxy.portOf("web");
  assert.equal(app.host.get("web")!.status().route, `/hooks/web -> 127.0.0.1:${port} (ready)`);
  const health = await httpCall(`${app.url}/health`);
  const entry = health.json.plugins.find((p: { name: string }) => p.name === "web");
  assert.equal(entry.details.route, `/hooks/web -> 127.0.0.1:${port} (ready)`);
  assert.deepEqual(app.proxy.routes(), [{ plugin: "web", prefix: "/hooks/web", ready: true }]);
});

test("proxy - instances mount at <mount_prefix>/<instance>, each on its own port", async (t) => {
  const { app, start } = await appWith(t, [
    { instance: "one", mountPrefix: "/hooks/multi" },
    { instance: "two", mountPrefix: "/hooks/multi" },
  ]);
  await start();
  await waitRouteReady(app, "/hooks/multi/one/pid");
  await waitRouteReady(app, "/hooks/multi/two/pid");
  const one = await httpCall(`${app.url}/hooks/multi/one/pid`);
  const two = await httpCall(`${app.url}/hooks/multi/two/pid`);
  assert.equal(Number(one.text), app.host.get("web.one")!.status().pid);
  assert.equal(Number(two.text), app.host.get("web.two")!.status().pid);
  assert.notEqual(app.proxy.portOf("web.one"), app.proxy.portOf("web.two"));
});

test("proxy - a prefix equal to or nested in another plugin's, or already an app route, is refused (NEXO_ERR_PROXY_MOUNT_CONFLICT); the plugin still runs", async (t) => {
  const { app, start, logs } = await appWith(t, [
    { id: "first", mountPrefix: "/hooks/shared" },
    { id: "nested", mountPrefix: "/hooks/shared/deeper" },
    { id: "same", mountPrefix: "/hooks/shared" },
    { id: "taken", mountPrefix: "/hooks/app" },
  ]);
  app.http.get("/hooks/app", async () => ({ mine: true }));
  await start();
  await waitRouteReady(app, "/hooks/shared/pid");
  for (const key of ["nested", "same", "taken"]) {
    const s = app.host.get(key)!.status();
    assert.equal(s.state, "ready", `${key} runs`);
    assert.match(s.route!, /refused/, `${key} has no route`);
    assert.ok(
      logs().some((l) => l.code === ErrorCodes.PROXY_MOUNT_CONFLICT && l.plugin === key),
      `${key}: conflict logged with its code`,
    );
  }
  const served = await httpCall(`${app.url}/hooks/shared/deeper/echo`);
  assert.equal(served.json.pid, app.host.get("first")!.status().pid, "the first plugin keeps its whole prefix");
  assert.equal(served.json.url, "/deeper/echo");
  assert.deepEqual((await httpCall(`${app.url}/hooks/app`)).json, { mine: true }, "the app's own route is untouched");
});

test("proxy - a fixed port is passed to the plugin as declared", async (t) => {
  const fixed = await findFreePort("127.0.0.1");
  const { app, start } = await appWith(t, [{ port: fixed }]);
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  assert.equal(app.proxy.portOf("web"), fixed);
  assert.equal((await httpCall(`http://127.0.0.1:${fixed}/pid`)).text, String(app.host.get("web")!.status().pid));
});

test("proxy - stopping the app cuts proxied streams still open after the drain grace, so a long stream cannot hold the stop", async (t) => {
  const { app, start } = await appWith(t, [{}], { drainTimeoutMs: 200 });
  await start();
  await waitRouteReady(app, "/hooks/web/echo");
  // The first chunk is through; the plugin holds the rest forever (nobody calls /release).
  // Wrapped in an object: resolving with the bare promise would wait for the stream to close first.
  const { closed } = await new Promise<{ closed: Promise<void> }>((resolve, reject) => {
    const req = httpRequest(`${app.url}/hooks/web/stream`, { agent: false }, (res) => {
      res.on("error", () => undefined);
      res.once("data", () => resolve({ closed: new Promise<void>((r) => res.once("close", () => r())) }));
    });
    req.on("error", reject);
    req.end();
  });
  const stopping = app.stop();
  await closed;
  await stopping;
  assert.equal(app.state, "stopped");
});

test("proxy - a route-syntax or reserved prefix that skipped validation refuses that plugin's route only; the app starts and serves the others", async (t) => {
  const root = tempDir(t);
  const { app, logs } = testApp(t, { http: true });
  const good = httpFixturePlugin(join(root, "good"), { id: "good", mountPrefix: "/hooks/good" });
  app.host.add({ manifest: good });
  // Built in code, as an embedding app could: these never went through manifest validation.
  for (const [id, prefix] of [
    ["star", "/*"],
    ["param", "/:p"],
    ["shout", "/METRICS"],
  ] as const) {
    const m = httpFixturePlugin(join(root, id), { id, mountPrefix: `/hooks/${id}` });
    app.host.add({ manifest: { ...m, http: { ...m.http!, mountPrefix: prefix } } });
  }
  app.http.get("/metrics", async () => "daemon metrics");
  await app.start();
  await waitRouteReady(app, "/hooks/good/echo");
  assert.equal((await httpCall(`${app.url}/hooks/good/echo`)).status, 200);
  assert.equal((await httpCall(`${app.url}/metrics`)).text, "daemon metrics", "no plugin serves the daemon's /metrics");
  assert.equal((await httpCall(`${app.url}/admin/login`)).status, 404, "nor anything else through a catch-all");
  for (const key of ["star", "param", "shout"]) {
    assert.match(app.host.get(key)!.status().route!, /refused/, `${key} has no route`);
    assert.ok(
      logs().some((l) => l.code === ErrorCodes.PROXY_MOUNT_CONFLICT && l.plugin === key),
      `${key}: refusal logged with its code`,
    );
  }
});

// The reverse proxy as `nexo run` wires it: a daemon built from a nexo.yaml, real plugin children.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { test } from "node:test";
import { normalizeConfig } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { httpCall } from "../helpers/http-client.js";
import { httpFixturePlugin } from "../helpers/http-fixture.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

test("daemon proxy - from nexo.yaml: 503 with Retry-After before the plugin's health check passes, 504 past timeout_seconds, routed otherwise", async (t) => {
  const dir = tempDir(t);
  httpFixturePlugin(join(dir, "plugins"), { id: "gated", gatedHealth: true, mountPrefix: "/hooks/gated" });
  httpFixturePlugin(join(dir, "plugins"), { id: "slow", timeoutSeconds: 1, mountPrefix: "/hooks/slow" });
  const config = normalizeConfig({ state_dir: join(dir, "state"), plugin_paths: ["./plugins"], api: { port: 0 } }, join(dir, "nexo.yaml"), dir);
  const daemon = await Daemon.start(config, { logger: captureLogger("info").logger });
  t.after(() => daemon.stop());
  const url = daemon.app.url!;

  const early = await httpCall(`${url}/hooks/gated/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' });
  assert.equal(early.status, 503);
  assert.equal(early.json.error.code, ErrorCodes.PROXY_NOT_READY);
  assert.equal(early.headers["retry-after"], "1");
  writeFileSync(join(config.stateDir, "plugins", "gated", "healthy"), "");
  await waitFor(async () => (await httpCall(`${url}/hooks/gated/echo`)).status === 200, "gated plugin healthy", 15_000, 25);

  await waitFor(async () => (await httpCall(`${url}/hooks/slow/echo`)).status === 200, "slow plugin routed", 15_000, 25);
  const slow = await httpCall(`${url}/hooks/slow/slow`);
  assert.equal(slow.status, 504);
  assert.equal(slow.json.error.code, ErrorCodes.PROXY_TIMEOUT);

  const health = await httpCall(`${url}/health`);
  const routes = Object.fromEntries(health.json.plugins.map((p: any) => [p.name, p.details.route]));
  assert.match(routes.gated, /^\/hooks\/gated -> 127\.0\.0\.1:\d+ \(ready\)$/);
  assert.match(routes.slow, /^\/hooks\/slow -> 127\.0\.0\.1:\d+ \(ready\)$/);
});

test("daemon proxy - a plugin whose mount_prefix is route syntax is refused alone: the daemon starts and serves the other plugins", async (t) => {
  const dir = tempDir(t);
  httpFixturePlugin(join(dir, "plugins"), { id: "fine", mountPrefix: "/hooks/fine" });
  for (const [id, prefix] of [
    ["grab", "/:p"],
    ["star", "/*"],
    ["semi", "/admin;x"],
  ] as const) {
    httpFixturePlugin(join(dir, "plugins"), { id, mountPrefix: `/hooks/${id}` });
    const file = join(dir, "plugins", `${id}-http`, "nexo-plugin.toml");
    writeFileSync(file, readFileSync(file, "utf8").replace(`mount_prefix = "/hooks/${id}"`, `mount_prefix = ${JSON.stringify(prefix)}`));
  }
  const config = normalizeConfig({ state_dir: join(dir, "state"), plugin_paths: ["./plugins"], api: { port: 0 } }, join(dir, "nexo.yaml"), dir);
  const cap = captureLogger("info");
  const daemon = await Daemon.start(config, { logger: cap.logger });
  t.after(() => daemon.stop());
  const url = daemon.app.url!;
  await waitFor(async () => (await httpCall(`${url}/hooks/fine/echo`)).status === 200, "fine plugin routed", 15_000, 25);
  for (const id of ["grab", "star", "semi"]) {
    assert.equal(daemon.app.host.get(id), undefined, `${id} is not started`);
    assert.ok(
      cap.lines().some((l) => l.msg === "plugin refused" && String(l.path).endsWith(`${id}-http`) && /mount_prefix/.test(String(l.err))),
      `${id}: refused with the field named`,
    );
  }
  assert.equal((await httpCall(`${url}/metrics`)).status, 404, "no plugin answers the daemon's reserved paths");
});

test("daemon proxy - an upstream-style [plugin.http] without http_server loads from nexo.yaml and is served over broker RPC", async (t) => {
  const dir = tempDir(t);
  const pluginDir = join(dir, "plugins", "pairing");
  mkdirSync(pluginDir, { recursive: true });
  const fixture = fileURLToPath(new URL("../fixtures/plugins/broker-http-plugin.mjs", import.meta.url));
  writeFileSync(
    join(pluginDir, "nexo-plugin.toml"),
    [
      "[plugin]",
      'id = "pairing"',
      'version = "0.1.0"',
      "[plugin.entrypoint]",
      `command = ${JSON.stringify(process.execPath)}`,
      `args = [${JSON.stringify(fixture)}]`,
      "[plugin.http]",
      'mount_prefix = "/pairing"',
      "",
    ].join("\n"),
  );
  const config = normalizeConfig({ state_dir: join(dir, "state"), plugin_paths: ["./plugins"], api: { port: 0 } }, join(dir, "nexo.yaml"), dir);
  const daemon = await Daemon.start(config, { logger: captureLogger("info").logger });
  t.after(() => daemon.stop());
  const url = daemon.app.url!;
  await waitFor(async () => (await httpCall(`${url}/pairing/status?code=200`)).status === 200, "broker route answering", 15_000, 25);
  const r = await httpCall(`${url}/pairing/echo?instance=default`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"pair":true}' });
  assert.equal(r.status, 201);
  assert.equal(r.json.path, "/pairing/echo");
  assert.equal(r.json.query, "instance=default");
  assert.equal(r.json.body, '{"pair":true}');
  const health = await httpCall(`${url}/health`);
  const entry = health.json.plugins.find((p: any) => p.name === "pairing");
  assert.equal(entry.details.route, "/pairing -> broker plugin.pairing.http.request (ready)");
});

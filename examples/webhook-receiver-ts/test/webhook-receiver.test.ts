// End to end: the real daemon (Daemon.start from this example's nexo.yaml), the real
// plugin child, requests through the daemon's HTTP port, events observed on the broker.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { parse as parseYaml } from "yaml";
import { normalizeConfig } from "../../../packages/nexo/src/config/index.js";
import type { Event } from "../../../packages/nexo/src/contract/index.js";
import { Daemon } from "../../../packages/nexo/src/daemon/index.js";
import { ErrorCodes } from "../../../packages/nexo/src/errors.js";
import { captureLogger } from "../../../packages/nexo/test/helpers/log-capture.js";
import { httpCall } from "../../../packages/nexo/test/helpers/http-client.js";
import { waitFor } from "../../../packages/nexo/test/helpers/wait.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = join(HERE, "..");
const NEXO = join(EXAMPLE, "..", "..", "packages", "nexo", "bin", "nexo.js");

/** The example's own nexo.yaml, with state, socket and API port moved out of the way of other tests. */
async function startDaemon(t: TestContext): Promise<{ daemon: Daemon; url: string; socket: string; events: (topic: string) => Event[] }> {
  const dir = mkdtempSync(join(tmpdir(), "nexo-webhook-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = parseYaml(readFileSync(join(EXAMPLE, "nexo.yaml"), "utf8"));
  raw.state_dir = join(dir, "state");
  raw.api = { ...raw.api, port: 0 };
  const config = normalizeConfig(raw, join(EXAMPLE, "nexo.yaml"), EXAMPLE);
  const daemon = await Daemon.start(config, { logger: captureLogger("info").logger });
  t.after(() => daemon.stop());
  const seen: Event[] = [];
  const sub = daemon.broker.subscribe("plugin.>", (e) => void seen.push(e), { bufferSize: 4096 });
  t.after(() => sub.unsubscribe());
  const url = daemon.app.url!;
  await waitFor(async () => (await httpCall(`${url}/webhook/demo/health`)).status === 200, "webhook route ready", 30_000, 50);
  return { daemon, url, socket: config.control.socket, events: (topic) => seen.filter((e) => e.topic === topic) };
}

function cli(args: string[], socket: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NEXO, ...args], { env: { ...process.env, NEXO_SOCKET: socket } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const json = { "content-type": "application/json" };

test("webhook example - a POSTed JSON body through the daemon's port becomes an event on plugin.inbound.webhook, correlated by the request id", async (t) => {
  const { url, events } = await startDaemon(t);

  const r = await httpCall(`${url}/webhook/demo`, {
    method: "POST",
    headers: { ...json, "x-request-id": "delivery-0001", "x-session-id": "conv-7" },
    body: '{"name":"Ada","language":"en"}',
  });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.request_id, "delivery-0001");
  assert.equal(r.json.topic, "plugin.inbound.webhook");
  assert.equal(r.headers["x-request-id"], "delivery-0001");
  const [event] = await waitFor(() => events("plugin.inbound.webhook").length > 0 && events("plugin.inbound.webhook"), "event on the broker");
  assert.equal(event.id, r.json.event_id, "the 202 names the published event");
  assert.deepEqual(event.payload, { name: "Ada", language: "en" });
  assert.equal(event.correlation_id, "delivery-0001");
  assert.equal(event.session_id, "conv-7");
  assert.equal(event.source, "webhook");

  // nexo.yaml binds plugin.inbound.webhook to `greet`, whose result goes to the echo plugin and comes back inbound.
  const [echoed] = await waitFor(() => events("plugin.inbound.echo").length > 0 && events("plugin.inbound.echo"), "greeting echoed");
  assert.deepEqual(echoed.payload, { text: "hello, Ada" });
  assert.equal(echoed.correlation_id, "delivery-0001", "one correlation id across the whole chain");
  assert.equal(echoed.session_id, "conv-7");

  // Without X-Request-Id the proxy generates one; the plugin uses it, and the client gets it back.
  const anon = await httpCall(`${url}/webhook/demo/`, { method: "POST", headers: json, body: "[1,2,3]" });
  assert.equal(anon.status, 202, anon.text);
  assert.match(anon.headers["x-request-id"] as string, /^[0-9a-f-]{36}$/);
  const second = await waitFor(() => events("plugin.inbound.webhook").find((e) => e.id === anon.json.event_id), "second event");
  assert.equal(second.correlation_id, anon.headers["x-request-id"]);
  assert.deepEqual(second.payload, [1, 2, 3]);
});

test("webhook example - bad JSON is 400, an oversize body 413, a non-JSON type 415, other methods 405; none publishes", async (t) => {
  const { url, events } = await startDaemon(t);
  const bad = await httpCall(`${url}/webhook/demo`, { method: "POST", headers: json, body: '{"name": ' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /not valid JSON/);
  const big = await httpCall(`${url}/webhook/demo`, { method: "POST", headers: json, body: JSON.stringify({ pad: "x".repeat(70_000) }) });
  assert.equal(big.status, 413, "over the plugin's max_body_bytes (64 KiB in nexo.yaml)");
  const huge = await httpCall(`${url}/webhook/demo`, { method: "POST", headers: json, body: JSON.stringify({ pad: "x".repeat(1_100_000) }) });
  assert.equal(huge.status, 413, "over the daemon's own limit (1 MiB): refused before the plugin is contacted");
  assert.equal(huge.json.error.code, ErrorCodes.HTTP_PAYLOAD_TOO_LARGE);
  const form = await httpCall(`${url}/webhook/demo`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1" });
  assert.equal(form.status, 415);
  const get = await httpCall(`${url}/webhook/demo`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, "POST");
  const ok = await httpCall(`${url}/webhook/demo`, { method: "POST", headers: json, body: '{"last":true}' });
  assert.equal(ok.status, 202);
  await waitFor(() => events("plugin.inbound.webhook").length === 1, "the good one published");
  assert.deepEqual(
    events("plugin.inbound.webhook").map((e) => e.payload),
    [{ last: true }],
    "only the accepted request became an event",
  );
});

test("webhook example - the route shows in `nexo plugin status`; a killed plugin answers 502 until the supervisor brings it back on the same port", async (t) => {
  const { daemon, url, socket } = await startDaemon(t);
  const status = await cli(["plugin", "status", "webhook"], socket);
  assert.equal(status.code, 0, status.stderr);
  const port = daemon.app.proxy.portOf("webhook");
  assert.match(status.stdout, new RegExp(`route:\\s+/webhook/demo -> 127\\.0\\.0\\.1:${port} \\(ready\\)`));

  const sup = daemon.host.get("webhook")!;
  const pid = sup.status().pid!;
  process.kill(pid, "SIGKILL");
  await waitFor(() => sup.currentState !== "ready", "the crash noticed");
  // The supervisor waits ~1 s (backoff_ms, jittered) before respawning: the route is down meanwhile.
  const down = await httpCall(`${url}/webhook/demo`, { method: "POST", headers: json, body: "{}" });
  assert.equal(down.status, 502, down.text);
  assert.ok([ErrorCodes.PROXY_PLUGIN_DOWN, ErrorCodes.PROXY_UPSTREAM_FAILED].includes(down.json.error.code), down.json.error.code);
  assert.match(down.json.error.message, /plugin webhook/);

  await waitFor(async () => (await httpCall(`${url}/webhook/demo`, { method: "POST", headers: json, body: "{}" })).status === 202, "respawned and healthy", 30_000, 50);
  assert.notEqual(sup.status().pid, pid);
  assert.equal(daemon.app.proxy.portOf("webhook"), port, "same port after the restart");
});

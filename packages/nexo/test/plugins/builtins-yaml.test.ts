import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { builtinPluginNames, type AuthPlugin, type CachingPlugin, type DatabasePlugin, type RateLimitPlugin, type WebhookPlugin } from "../../src/plugins/index.js";
import { optionsFromYaml } from "../../src/plugins/option-checks.js";
import { captureLogger } from "../helpers/log-capture.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { loopbackServer, sendJson } from "../helpers/http-server.js";
import { parsePromText, sampleValue } from "../helpers/prom-text.js";
import { waitFor } from "../helpers/wait.js";

test("builtins - every built-in is registered under its nexo.yaml name", () => {
  assert.deepEqual(builtinPluginNames(), ["auth", "caching", "database", "metrics", "monitoring", "rate_limit", "request_logger", "webhook"]);
});

test("builtins - nexo.yaml in_process_plugins configures each built-in (snake_case keys, secrets from env vars, never logged)", async (t) => {
  const dir = tempDir(t);
  const receiver = await loopbackServer(t, (_req, res) => sendJson(res, 200, {}));
  process.env.NEXO_TEST_API_KEY = "yaml-api-key-0123456789";
  process.env.NEXO_TEST_WEBHOOK_SECRET = "yaml-webhook-secret-value";
  process.env.NEXO_TEST_DATABASE_URL = `sqlite:${join(dir, "executions-secret-name.db")}`;
  t.after(() => {
    delete process.env.NEXO_TEST_DATABASE_URL;
    delete process.env.NEXO_TEST_API_KEY;
    delete process.env.NEXO_TEST_WEBHOOK_SECRET;
  });
  const file = join(dir, "nexo.yaml");
  writeFileSync(
    file,
    `state_dir: ${join(dir, "state")}
plugin_paths: []
api: { port: 0 }
in_process_plugins:
  auth:
    strategy: api_key
    api_keys:
      - id: ci
        key_env: NEXO_TEST_API_KEY
    exempt: [/health, /metrics]
  rate_limit:
    limit: 600
    burst: 3
    max_buckets: 100
    routes:
      - path: /workflows/*/execute
        method: POST
        limit: 60
        burst: 2
        name: execute
  monitoring:
    backend: prometheus
    interval: 30
    process_metrics: false
  request_logger:
    include_inputs: false
  metrics: {}
  webhook:
    url: ${receiver.url}/hook
    secret_env: NEXO_TEST_WEBHOOK_SECRET
    backoff_ms: 1
  caching:
    ttl: 60
    max_entries: 10
  database:
    connection_string_env: NEXO_TEST_DATABASE_URL
    table: executions
`,
  );
  const cap = captureLogger();
  const daemon = await Daemon.start(loadConfig(file), { logger: cap.logger, configure: (app) => void app.register("echo", (i) => i) });
  t.after(() => daemon.stop());
  const app = daemon.app;
  assert.deepEqual(app.plugins.list(), ["auth", "rate_limit", "monitoring", "request_logger", "metrics", "webhook", "caching", "database"]);
  assert.equal(app.plugins.get<RateLimitPlugin>("rate_limit")!.routes[0].name, "execute");
  assert.equal(app.plugins.get<CachingPlugin>("caching")!.maxEntries, 10);
  const base = app.url!;
  const post = (key?: string) =>
    fetch(`${base}/workflows/echo/execute`, { method: "POST", headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) }, body: '{"a":1}' });
  assert.equal((await post()).status, 401);
  const ok = await post("yaml-api-key-0123456789");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("ratelimit-policy"), '"execute";q=2;w=2');
  assert.equal((await post("yaml-api-key-0123456789")).status, 200);
  assert.equal((await post("yaml-api-key-0123456789")).status, 429);
  const metrics = parsePromText(await (await fetch(`${base}/metrics`)).text());
  assert.equal(sampleValue(metrics, "nexo_http_requests_total", { route: "/workflows/:name/execute", method: "POST", status: "429" }), 1);
  await waitFor(() => app.plugins.get<WebhookPlugin>("webhook")!.stats().delivered === 1, "webhook delivery");
  const db = app.plugins.get<DatabasePlugin>("database")!;
  await waitFor(async () => (await db.listExecutions()).some((r) => r.status === "completed"), "execution recorded in the executions table");
  assert.ok(receiver.received[0].headers["x-nexo-signature-256"]);
  const all = JSON.stringify(cap.lines());
  assert.ok(!all.includes("yaml-webhook-secret-value") && !all.includes("yaml-api-key-0123456789"), "no secret in the logs");
  assert.equal(JSON.stringify(app.plugins.get<AuthPlugin>("auth")).includes("yaml-api-key"), false);
});

test("builtins - a bad option in nexo.yaml fails the start with NEXO_ERR_PLUGIN_CONFIG_INVALID naming it; a missing env var too", async (t) => {
  const dir = tempDir(t);
  const write = (body: string) => {
    const file = join(dir, "nexo.yaml");
    writeFileSync(file, `state_dir: ${join(dir, "state")}\nplugin_paths: []\napi: { port: 0 }\nin_process_plugins:\n${body}`);
    return loadConfig(file);
  };
  const cap = captureLogger();
  await assert.rejects(
    Daemon.start(write("  rate_limit:\n    burst: many\n"), { logger: cap.logger }),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && e.details.field === "burst" && /rate_limit option burst must be an integer/.test(e.message),
  );
  await assert.rejects(
    Daemon.start(write("  webhook:\n    url: http://127.0.0.1:9/x\n    secret_env: NEXO_TEST_SURELY_UNSET\n"), { logger: cap.logger }),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && /NEXO_TEST_SURELY_UNSET is not set/.test(e.message),
  );
  await assert.rejects(
    Daemon.start(write("  auth:\n    strategy: api_key\n    api_kyes: []\n"), { logger: cap.logger }),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && /auth has no option "apiKyes"/.test(e.message),
  );
  for (const name of ["constructor", "to_string"]) {
    await assert.rejects(
      Daemon.start(write(`  caching:\n    ${name}: 5\n`), { logger: cap.logger }),
      (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && /caching has no option "(constructor|toString)"/.test(e.message),
      `an option named like an Object.prototype member (${name}) is unknown`,
    );
  }
  assert.deepEqual(optionsFromYaml("webhook", { max_retries: 2, headers: { "x-api-token": "t", some_header: "v" } }, ["headers"]), {
    maxRetries: 2,
    headers: { "x-api-token": "t", some_header: "v" },
  });
});

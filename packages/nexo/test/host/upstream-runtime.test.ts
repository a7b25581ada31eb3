import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { newEvent, type Event } from "../../src/contract/index.js";
import { ErrorCodes, isNexoError, violationLine, type NexoError } from "../../src/errors.js";
import { loadManifest } from "../../src/manifest/index.js";
import { testApp } from "../helpers/app.js";
import { fixturePlugin, tempDir } from "../helpers/fixture-plugins.js";
import { waitFor } from "../helpers/wait.js";

const UPSTREAM_SCRIPT = fileURLToPath(new URL("../fixtures/plugins/upstream-plugin.mjs", import.meta.url));

/** An upstream-shaped plugin running the upstream fixture; `sections` is TOML appended to the manifest. */
function upstreamPlugin(root: string, id: string, sections: string, env: Record<string, string> = {}) {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  const envLine = Object.entries(env)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(", ");
  writeFileSync(
    join(dir, "plugin.toml"),
    [
      "manifest_version = 2",
      "[plugin]",
      `id = "${id}"`,
      'version = "0.2.0"',
      `name = "${id}"`,
      'description = "upstream-shaped"',
      'min_nexo_version = ">=0.1.19"',
      "[plugin.entrypoint]",
      `command = ${JSON.stringify(process.execPath)}`,
      `args = [${JSON.stringify(UPSTREAM_SCRIPT)}]`,
      `env = { ${envLine} }`,
      sections,
    ].join("\n"),
  );
  return loadManifest(dir);
}

function setup(t: TestContext, env: NodeJS.ProcessEnv = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  t.after(() => {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  const root = tempDir(t);
  const ctx = testApp(t, { stateDir: join(root, "state"), pluginTimeouts: { initMs: 5000, shutdownReplyMs: 1000, killGraceMs: 300 } });
  /** A file the plugin `key` wrote in its state dir. */
  const stateFile = (key: string, name: string): string => join(root, "state", "plugins", key, name);
  return { ...ctx, root, stateFile };
}

test("upstream runtime - requires.bins and requires.env missing: the plugin is not started, every miss is named, the other plugin runs on", async (t) => {
  const { app, root } = setup(t);
  const needy = app.host.add({
    manifest: upstreamPlugin(root, "needy", '[plugin.requires]\nbins = ["definitely-not-installed-xyz", "./tools/missing"]\nenv = ["NEEDY_API_KEY", "constructor"]'),
  });
  const echo = app.host.add({ manifest: fixturePlugin(root, { id: "echo", mode: "echo" }) });
  await app.start();
  assert.equal(echo.status().state, "ready");
  const s = needy.status();
  assert.equal(s.state, "failed");
  assert.match(s.lastError ?? "", /binary "definitely-not-installed-xyz" is not an executable on PATH/);
  assert.match(s.lastError ?? "", /binary "\.\/tools\/missing" is not an executable file/);
  assert.match(s.lastError ?? "", /environment variable NEEDY_API_KEY is not set/);
  assert.match(s.lastError ?? "", /environment variable constructor is not set/, "not Object.prototype.constructor");
  assert.equal(s.pid, null, "never spawned");
  const err = await needy.start().catch((e: NexoError) => e);
  assert.ok(isNexoError(err, ErrorCodes.HOST_REQUIREMENT_MISSING), String(err));
  assert.deepEqual((err.details.data as { missing: string[] }).missing.length, 4);
});

test("upstream runtime - satisfied requires, token_env and extra_env_passthrough: started, and exactly those daemon variables reach the plugin", async (t) => {
  const { app, root, stateFile } = setup(t, { UPS_API_KEY: "k-123", UPS_TOKEN: "tok-456", UPS_TENANT: "acme", UPS_UNRELATED_SECRET: "nope" });
  const sup = app.host.add({
    manifest: upstreamPlugin(
      root,
      "ups",
      `[plugin.requires]\nbins = ["node"]\nenv = ["UPS_API_KEY"]\n[plugin.capabilities.http_server]\nport = 0\ntoken_env = "UPS_TOKEN"\nextra_env_passthrough = ["UPS_TENANT", "toString"]`,
    ),
  });
  await app.start();
  assert.equal(sup.status().state, "ready");
  const env = JSON.parse(readFileSync(stateFile("ups", "env.json"), "utf8")) as Record<string, string>;
  assert.equal(env.UPS_API_KEY, "k-123");
  assert.equal(env.UPS_TOKEN, "tok-456");
  assert.equal(env.UPS_TENANT, "acme");
  assert.equal(env.UPS_UNRELATED_SECRET, undefined);
  assert.equal(Object.hasOwn(env, "toString"), false, "a name the parent env only has through Object.prototype is not passed");
});

test("upstream runtime - a config that breaks [plugin.config_schema]: not started, every violation listed; a valid one reaches plugin.configure", async (t) => {
  const { app, root, stateFile } = setup(t);
  const schema = `[plugin.config_schema]\nshape = "array"\nschema = '''{"type":"object","properties":{"agent_id":{"type":"string"},"limit":{"type":"integer","minimum":1}},"required":["agent_id"],"additionalProperties":false}'''`;
  const bad = app.host.add({
    manifest: upstreamPlugin(root, "cfgbad", schema),
    config: [
      { agent_id: "a1", limit: 0 },
      { limit: "x", extra: true },
      // A key with "/" and "~" is one JSON Pointer token: escaped as ~1 and ~0 (RFC 6901).
      { agent_id: "a3", "a/b~c": 1 },
    ],
  });
  const good = app.host.add({ manifest: upstreamPlugin(root, "cfgok", schema), config: [{ agent_id: "a1", limit: 5 }] });
  await app.start();
  assert.equal(good.status().state, "ready");
  assert.deepEqual(JSON.parse(readFileSync(stateFile("cfgok", "config.json"), "utf8")), [{ agent_id: "a1", limit: 5 }]);
  assert.equal(bad.status().state, "failed");
  const err = await bad.start().catch((e: NexoError) => e);
  assert.ok(isNexoError(err, ErrorCodes.HOST_CONFIG_INVALID), String(err));
  const violations = (err.details.data?.violations ?? []).map(violationLine);
  assert.deepEqual(
    violations.sort(),
    ["/0/limit: must be >= 1", "/1/agent_id: is required", "/1/extra: is not allowed", "/1/limit: must be integer", "/2/a~1b~0c: is not allowed"].sort(),
  );
  assert.equal(existsSync(stateFile("cfgbad", "env.json")), false, "the plugin never ran");
});

test("upstream runtime - [plugin.capabilities.broker] and [plugin.subscriptions]: declared topics are forwarded and publishable, others stay denied", async (t) => {
  const { app, root } = setup(t);
  app.host.add({
    manifest: upstreamPlugin(
      root,
      "crm",
      '[plugin.capabilities.broker]\nsubscribe = ["crm.jobs.*"]\npublish = ["crm.events.lead_created"]\n[plugin.subscriptions]\nbroker_topics = ["plugin.inbound.email.>"]',
      { UPSTREAM_PUBLISH: "crm.events.lead_created,crm.events.not_declared" },
    ),
  });
  await app.start();
  const got: Event[] = [];
  app.broker.subscribe("crm.events.>", (e) => void got.push(e));
  await app.broker.publish("crm.jobs.nightly", newEvent("crm.jobs.nightly", "test", { n: 1 }));
  await app.broker.publish("plugin.inbound.email.sales", newEvent("plugin.inbound.email.sales", "test", { n: 2 }));
  await app.broker.publish("crm.other.thing", newEvent("crm.other.thing", "test", { n: 3 }));
  await waitFor(() => got.length >= 2, "the plugin's publishes on its declared topic");
  // Each forwarded event also made the plugin try an undeclared topic, right after the declared one.
  await waitFor(() => app.host.require("crm").status().deniedPublishes === 2, "both undeclared publishes refused");
  assert.deepEqual(got.map((e) => [e.topic, (e.payload as { from: string }).from]).sort(), [
    ["crm.events.lead_created", "crm.jobs.nightly"],
    ["crm.events.lead_created", "plugin.inbound.email.sales"],
  ]);
  // crm.other.thing is outside every forwarded pattern: it never reached the plugin, so nothing answered it.
  assert.equal(got.length, 2);
});

test("upstream runtime - tools already named <plugin_id>_... keep their name; outbound tools are called with their own method", async (t) => {
  const { app, root } = setup(t);
  const catalogue = JSON.stringify([{ name: "refpy_echo", description: "echo", input_schema: { type: "object", properties: { text: { type: "string" } } } }]);
  app.host.add({
    manifest: upstreamPlugin(
      root,
      "refpy",
      `[plugin.tools]\nexpose = ["refpy_echo", "refpy_send"]\n[[plugin.tools.outbound]]\nname = "refpy_send"\ndescription = "send"\ninput_schema = '''{"type":"object","properties":{"to":{"type":"string"}},"required":["to"]}'''`,
      { UPSTREAM_TOOLS: catalogue },
    ),
  });
  await app.start();
  const names = app.listTools().map((x) => x.name);
  assert.ok(names.includes("refpy_echo") && names.includes("refpy_send"), names.join(", "));
  assert.ok(!names.includes("refpy_refpy_echo"), "no double prefix");
  const echoed = await app.callTool("refpy_echo", { text: "hi" });
  assert.deepEqual(JSON.parse(String(echoed.content[0]?.text)), { method: "tool.invoke", tool_name: "refpy_echo", args: { text: "hi" } });
  const sent = await app.callTool("refpy_send", { to: "+1" });
  assert.deepEqual(JSON.parse(String(sent.content[0]?.text)), { method: "outbound_tool.invoke", tool_name: "refpy_send", args: { to: "+1" } });
  await assert.rejects(app.callTool("refpy_send", {}), (e) => isNexoError(e, ErrorCodes.TOOL_INVALID_ARGS), "the manifest's schema is enforced");
});

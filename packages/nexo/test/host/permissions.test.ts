import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { LocalBroker } from "../../src/broker/index.js";
import { RpcErrorCodes } from "../../src/contract/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { PluginHost, type HostServiceHandler } from "../../src/host/index.js";
import { declaredPermissions, describePermissions, grantedBrokerPatterns, isGranted, permissionKind, planPermissions } from "../../src/host/permissions/index.js";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { testApp } from "../helpers/app.js";
import { httpCall } from "../helpers/http-client.js";
import { httpFixturePlugin } from "../helpers/http-fixture.js";

const PROBE = fileURLToPath(new URL("../fixtures/plugins/sandbox-probe.mjs", import.meta.url));

const manifestOf = (over: { caps?: string[]; subscribe?: string[]; publish?: string[]; http?: boolean } = {}) => ({
  requires: { nexoCapabilities: over.caps ?? [], bins: [], env: [] },
  broker: { subscribe: over.subscribe ?? [], publish: over.publish ?? [] },
  ...(over.http ? { httpServer: { port: 0, bind: "127.0.0.1", healthPath: "/health" } } : {}),
});

test("permissions plan - the manifest declares llm and memory in nexo_capabilities, http_server and broker patterns in its capabilities", () => {
  assert.deepEqual(declaredPermissions(manifestOf({ caps: ["broker", "long_term_memory", "llm"], subscribe: ["a.>"], publish: ["plugin.tool.x"], http: true })), [
    "memory",
    "llm",
    "http_server",
    "broker.subscribe:a.>",
    "broker.publish:plugin.tool.x",
  ]);
  // Capability names like Object.prototype members are unknown capabilities, granting nothing, and checks stay sound when enforced.
  const odd = manifestOf({ caps: ["constructor", "toString", "__proto__", "llm"], subscribe: ["a.>"], publish: [], http: false });
  assert.deepEqual(declaredPermissions(odd), ["llm", "broker.subscribe:a.>"]);
  assert.equal(isGranted(planPermissions(odd, undefined, true), "broker.subscribe:a.b"), true);
  assert.equal(permissionKind("broker.subscribe:a.*"), "broker.subscribe");
  assert.equal(permissionKind("broker.subscribe"), null);
  assert.equal(permissionKind("llm:x"), null);
  assert.equal(permissionKind("admin"), null);
});

test("permissions plan - nothing said: everything allowed; enforce: what the manifest declares; operator grants: exactly those, broker patterns covered by a granted one", () => {
  const m = manifestOf({ caps: ["memory"], subscribe: ["demo.>", "other.x"] });
  const open = planPermissions(m, undefined, false);
  assert.equal(open.enforced, false);
  assert.ok(isGranted(open, "llm"));
  assert.deepEqual(grantedBrokerPatterns(open, m.broker), { subscribe: ["demo.>", "other.x"], publish: [] });
  assert.equal(describePermissions(open), "not enforced; declared: memory, broker.subscribe:demo.>, broker.subscribe:other.x");

  const enforced = planPermissions(m, undefined, true);
  assert.ok(isGranted(enforced, "memory"));
  assert.ok(!isGranted(enforced, "llm"));
  assert.ok(isGranted(enforced, "broker.subscribe:demo.a.b"));
  assert.ok(!isGranted(enforced, "broker.subscribe:elsewhere"));

  const operator = planPermissions(m, ["llm", "broker.subscribe:demo.>"], false);
  assert.equal(operator.source, "operator");
  assert.ok(isGranted(operator, "llm"));
  assert.ok(!isGranted(operator, "memory"), "declared but not granted by the operator");
  assert.deepEqual(grantedBrokerPatterns(operator, m.broker), { subscribe: ["demo.>"], publish: [] });
  assert.ok(!isGranted(operator, "broker.publish:demo.x"), "a subscribe grant is no publish grant");
  assert.equal(describePermissions(operator), "enforced (operator): llm, broker.subscribe:demo.>");
});

function probePlugin(root: string, id: string, toml: string[]): PluginManifest {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  copyFileSync(PROBE, join(dir, "probe.mjs"));
  const lines = [
    "[plugin]",
    `id = "${id}"`,
    'version = "0.1.0"',
    "[plugin.entrypoint]",
    `command = "${process.execPath}"`,
    'args = ["probe.mjs"]',
    "[plugin.extends]",
    'tools = ["call", "echo"]',
    "[plugin.supervisor]",
    "respawn = false",
    ...toml,
  ];
  writeFileSync(join(dir, "plugin.toml"), lines.join("\n"));
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

const DECLARES = ["[plugin.requires]", 'nexo_capabilities = ["broker", "memory"]', "[plugin.capabilities.broker]", 'subscribe = ["demo.>"]', 'publish = ["demo.out.>"]'];

function newHost(t: TestContext, root: string, enforce: boolean) {
  const { logger, lines } = captureLogger("info");
  const broker = new LocalBroker();
  const services: Record<string, HostServiceHandler> = {
    "memory.recall": async () => ({ memories: [{ text: "remembered" }] }),
    "llm.complete": async () => ({ content: "hello" }),
  };
  const host = new PluginHost({
    broker,
    logger,
    nexoVersion: NEXO_VERSION,
    stateRoot: join(root, "state"),
    hostServices: services,
    sandbox: { require: false, allowHostNetwork: [], limits: {}, protectedPaths: [], enforcePermissions: enforce },
  });
  t.after(async () => {
    await host.stopAll();
    await broker.close();
  });
  const call = async (key: string, method: string, params: unknown = {}) => {
    const r = (await host.invokeTool(key, { tool_name: "call", args: { method, params } }, 20_000)) as { content: Array<{ text: string }> };
    return JSON.parse(r.content[0]!.text) as { result?: any; error?: { code: number; message: string; data: Record<string, unknown> } };
  };
  return { host, call, lines };
}

test("permissions - an ungranted host service or broker pattern is refused with -32603 and NEXO_ERR_HOST_PERMISSION_DENIED, counted and logged once; granted ones work; nothing said changes nothing", async (t) => {
  const root = tempDir(t, "nexo-permissions-");
  const { host, call, lines } = newHost(t, root, false);
  host.add({ manifest: probePlugin(root, "granted", DECLARES), grants: ["memory", "broker.subscribe:demo.>"] });
  host.add({ manifest: probePlugin(root, "denied", DECLARES), grants: [] });
  host.add({ manifest: probePlugin(root, "legacy", []) });
  assert.deepEqual((await host.startAll()).failed, []);

  assert.deepEqual((await call("granted", "memory.recall", { query: "x" })).result, { memories: [{ text: "remembered" }] });
  assert.ok((await call("granted", "broker.subscribe", { topic_pattern: "demo.a" })).result?.subscriber_id);

  for (let i = 0; i < 2; i++) {
    const refused = await call("denied", "memory.recall", { query: "x" });
    assert.equal(refused.error?.code, RpcErrorCodes.INTERNAL_ERROR);
    assert.deepEqual(refused.error?.data, { code: ErrorCodes.HOST_PERMISSION_DENIED, permission: "memory", plugin: "denied" });
    assert.match(refused.error?.message ?? "", /not granted memory.*plugins\.denied\.grants/);
  }
  const sub = await call("denied", "broker.subscribe", { topic_pattern: "demo.a" });
  assert.equal(sub.error?.code, RpcErrorCodes.INTERNAL_ERROR);
  assert.deepEqual(sub.error?.data, { code: ErrorCodes.HOST_PERMISSION_DENIED, permission: "broker.subscribe:demo.a", plugin: "denied" });
  const event = { id: "0190a0a0-0000-7000-8000-000000000001", timestamp: new Date().toISOString(), topic: "demo.out.x", source: "denied", session_id: null, payload: {} };
  const pub = await call("denied", "broker.publish", { topic: "demo.out.x", event });
  assert.deepEqual(pub.error?.data, { code: ErrorCodes.HOST_PERMISSION_DENIED, permission: "broker.publish:demo.out.x", plugin: "denied" });
  // Another topic of the same kind is refused and counted, but not logged again.
  assert.equal((await call("denied", "broker.publish", { topic: "demo.out.y", event: { ...event, topic: "demo.out.y" } })).error?.code, RpcErrorCodes.INTERNAL_ERROR);
  // A pattern it never declared is still the allowlist's refusal, as before.
  assert.notEqual((await call("denied", "broker.subscribe", { topic_pattern: "elsewhere.x" })).error?.data, undefined);

  const denied = host.status().find((s) => s.key === "denied")!;
  assert.equal(denied.permissionDenials, 5);
  assert.equal(denied.grants, "enforced (operator): none");
  const logged = lines().filter((l) => l.code === ErrorCodes.HOST_PERMISSION_DENIED);
  assert.deepEqual(logged.map((l) => l.permission).sort(), ["broker.publish:demo.out.x", "broker.subscribe:demo.a", "memory"]);

  // No grants and no enforce: as before, even for a service it never declared, which is logged once.
  assert.deepEqual((await call("legacy", "llm.complete", { messages: [] })).result, { content: "hello" });
  await call("legacy", "llm.complete", { messages: [] });
  assert.equal(lines().filter((l) => l.plugin === "legacy" && l.permission === "llm").length, 1);
  assert.equal(host.status().find((s) => s.key === "legacy")!.permissionDenials, 0);
  assert.equal(host.status().find((s) => s.key === "granted")!.grants, "enforced (operator): memory, broker.subscribe:demo.>");
});

test("permissions - with permissions.enforce a plugin may use what its manifest declares and nothing else", async (t) => {
  const root = tempDir(t, "nexo-permissions-");
  const { host, call } = newHost(t, root, true);
  host.add({ manifest: probePlugin(root, "declared", DECLARES) });
  assert.deepEqual((await host.startAll()).failed, []);
  assert.ok((await call("declared", "memory.recall", { query: "x" })).result);
  assert.ok((await call("declared", "broker.subscribe", { topic_pattern: "demo.>" })).result?.subscriber_id);
  const llm = await call("declared", "llm.complete", { messages: [] });
  assert.equal((llm.error?.data as { code?: string }).code, ErrorCodes.HOST_PERMISSION_DENIED);
  assert.equal(host.status()[0]!.grants, "enforced (manifest): memory, broker.subscribe:demo.>, broker.publish:demo.out.>");
  const event = { id: "0190a0a0-0000-7000-8000-000000000002", timestamp: new Date().toISOString(), topic: "demo.out.x", source: "declared", session_id: null, payload: {} };
  assert.deepEqual((await call("declared", "broker.publish", { topic: "demo.out.x", event })).result, { ok: true });
});

test("permissions - an http_server plugin the operator did not grant http_server gets no route, and its status says why", async (t) => {
  const root = tempDir(t, "nexo-permissions-");
  const { app } = testApp(t, { http: true, stateDir: join(root, "state") });
  app.host.add({ manifest: httpFixturePlugin(root, { id: "web" }), grants: ["memory"] });
  app.host.add({ manifest: httpFixturePlugin(root, { id: "open" }) });
  await app.start();
  assert.match(
    app.host.status().find((s) => s.key === "web")!.route ?? "",
    /^\/hooks\/web \(refused: needs http_server, which is not granted to plugin web \(plugins\.web\.grants in nexo\.yaml\)\)$/,
  );
  assert.equal((await httpCall(`${app.url}/hooks/web/echo`)).status, 404);
  assert.doesNotMatch(app.host.status().find((s) => s.key === "open")!.route ?? "", /refused/);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkMountPrefix, ManifestError, parseManifest, RESERVED_MOUNT_PREFIXES } from "../../src/manifest/index.js";

const V = { nexoVersion: "0.1.0", file: "/tmp/mp/plugin.toml" };
const manifest = (prefix: string, httpServer = true): string =>
  [
    "[plugin]",
    'id = "mp"',
    'version = "1.0.0"',
    "[plugin.entrypoint]",
    'command = "x"',
    ...(httpServer ? ["[plugin.capabilities.http_server]", "port = 0"] : []),
    "[plugin.http]",
    `mount_prefix = ${JSON.stringify(prefix)}`,
    "",
  ].join("\n");

function rulesFor(prefix: string): string[] {
  try {
    parseManifest(manifest(prefix), V);
    return [];
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    return err.violations.filter((v) => v.field === "plugin.http.mount_prefix").map((v) => v.rule);
  }
}

/** The contract's four, upstream's /pair, and every route the daemon serves itself. */
const RESERVED = ["/health", "/ready", "/metrics", "/admin", "/.well-known", "/pair", "/workflows", "/tools", "/mcp", "/openapi", "/openapi.json", "/control"];

test("manifest mount_prefix - the reserved list is the contract's four, upstream's /pair and the app's own routes", () => {
  assert.deepEqual([...RESERVED_MOUNT_PREFIXES].sort(), [...RESERVED].sort());
});

for (const reserved of RESERVED) {
  test(`manifest mount_prefix - ${reserved}, paths below it and its other spellings of case are refused (reserved_prefix)`, () => {
    assert.deepEqual(rulesFor(reserved), ["reserved_prefix"]);
    assert.deepEqual(rulesFor(`${reserved}/plugin`), ["reserved_prefix"]);
    assert.deepEqual(rulesFor(`${reserved}/a/b`), ["reserved_prefix"]);
    assert.deepEqual(rulesFor(reserved.toUpperCase()), ["reserved_prefix"]);
    assert.deepEqual(rulesFor(`${reserved.slice(0, 2).toUpperCase()}${reserved.slice(2)}/x`), ["reserved_prefix"]);
  });
}

test("manifest mount_prefix - look-alikes of reserved prefixes and ordinary paths are accepted", () => {
  for (const ok of [
    "/healthz",
    "/metrics2",
    "/administration",
    "/workflows-hooks",
    "/webhook/github",
    "/mcp_bridge",
    "/openapi.json.bak",
    "/t",
    "/a.b/c~d/e-f_g",
    "/v1/hooks/health",
  ]) {
    assert.deepEqual(rulesFor(ok), [], ok);
  }
});

test("manifest mount_prefix - route syntax, encodings, empty and dot segments and a trailing slash are refused (path)", () => {
  const bad = [
    "webhook",
    "",
    "/",
    "/webhook/",
    "//health",
    "/a//b",
    "/a/../health",
    "/a/./b",
    "/..",
    "/:p",
    "/hooks/:id",
    "/*",
    "/hooks/*",
    "/hooks(x)",
    "/admin;x",
    "/hooks;x",
    "/a%2Fb",
    "/%2e%2e/metrics",
    "/a b",
    "/a\tb",
    "/a?x",
    "/a#x",
    "/a\\b",
    "/a\u0000b",
    "/caf\u00e9",
    "/a+b",
    "/a@b",
  ];
  for (const p of bad) assert.deepEqual(rulesFor(p), ["path"], JSON.stringify(p));
});

test("manifest mount_prefix - checkMountPrefix names the rule and says what is wrong", () => {
  assert.equal(checkMountPrefix("/hooks/x"), undefined);
  assert.match(checkMountPrefix("/:p")!.message, /literal/);
  assert.match(checkMountPrefix("//health")!.message, /empty segment/);
  assert.match(checkMountPrefix("/Metrics")!.message, /under \/metrics/);
});

test("manifest [plugin.http] - without [plugin.capabilities.http_server] it is accepted as upstream's broker-RPC proxy", () => {
  const m = parseManifest(manifest("/hooks/x", false), V);
  assert.deepEqual(m.http, { mountPrefix: "/hooks/x", timeoutSeconds: 30, mode: "broker_rpc" });
  assert.equal(m.httpServer, undefined);
  const r = parseManifest(manifest("/hooks/x", true), V);
  assert.equal(r.http?.mode, "reverse_proxy");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { ManifestError, parseManifest, RESERVED_MOUNT_PREFIXES } from "../../src/manifest/index.js";

const V = { nexoVersion: "0.1.0", file: "/tmp/mp/plugin.toml" };
const manifest = (prefix: string): string =>
  ['[plugin]', 'id = "mp"', 'version = "1.0.0"', "[plugin.entrypoint]", 'command = "x"', "[plugin.capabilities.http_server]", "port = 0", "[plugin.http]", `mount_prefix = ${JSON.stringify(prefix)}`, ""].join("\n");

function rulesFor(prefix: string): string[] {
  try {
    parseManifest(manifest(prefix), V);
    return [];
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    return err.violations.filter((v) => v.field === "plugin.http.mount_prefix").map((v) => v.rule);
  }
}

/** Each rule of CONTRACT.md and each route the app serves itself: the prefix and a path below it are refused. */
const RESERVED = ["/health", "/metrics", "/admin", "/.well-known", "/workflows", "/tools", "/mcp", "/openapi.json", "/control"];

test("manifest mount_prefix - the reserved list is the contract's four plus the app's own routes", () => {
  assert.deepEqual([...RESERVED_MOUNT_PREFIXES].sort(), [...RESERVED].sort());
});

for (const reserved of RESERVED) {
  test(`manifest mount_prefix - ${reserved} and paths below it are refused (reserved_prefix)`, () => {
    assert.deepEqual(rulesFor(reserved), ["reserved_prefix"]);
    assert.deepEqual(rulesFor(`${reserved}/plugin`), ["reserved_prefix"]);
    assert.deepEqual(rulesFor(`${reserved}/a/b`), ["reserved_prefix"]);
  });
}

test("manifest mount_prefix - look-alikes of reserved prefixes and ordinary paths are accepted", () => {
  for (const ok of ["/healthz", "/metrics2", "/administration", "/workflows-hooks", "/webhook/github", "/mcp_bridge", "/openapi.json.bak", "/t"]) {
    assert.deepEqual(rulesFor(ok), [], ok);
  }
});

test("manifest mount_prefix - malformed paths are refused (path)", () => {
  for (const bad of ["webhook", "/", "/webhook/", "/a/../health", "/a/./b", "/a b", "/a?x", "/a#x", "/a%2Fb", "/a\\b"]) {
    assert.deepEqual(rulesFor(bad), ["path"], bad);
  }
});

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { readConformanceSettings, runConformance } from "../../src/conformance/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { loadManifest } from "../../src/manifest/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const UPSTREAM_SCRIPT = fileURLToPath(new URL("../fixtures/plugins/upstream-plugin.mjs", import.meta.url));

/** A plugin dir running the upstream-style fixture, with `extra` TOML in its manifest and optional sibling settings. */
function plugin(root: string, name: string, extra: string, settings?: string, env: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const envLine = Object.entries(env)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(", ");
  writeFileSync(
    join(dir, "plugin.toml"),
    `manifest_version = 2\n[plugin]\nid = "${name}"\nversion = "1.2.0"\nname = "${name}"\ndescription = "d"\nmin_nexo_version = ">=0.1.0"\n[plugin.entrypoint]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(UPSTREAM_SCRIPT)}]\nenv = { ${envLine} }\n${extra}`,
  );
  if (settings !== undefined) writeFileSync(join(dir, "nexo-conformance.toml"), settings);
  return dir;
}

test("conformance settings - nexo-conformance.toml beside the manifest; the old [plugin.conformance] is read with a deprecation warning", (t) => {
  const root = tempDir(t);
  const sibling = readConformanceSettings(loadManifest(plugin(root, "sib", "", 'tags = ["probe"]\nserver_version = "sib 1"\n[config]\nx = 1\n[env]\nTOKEN = "t"\n')));
  assert.deepEqual([sibling.tags, sibling.serverVersion, sibling.config, sibling.env, sibling.warnings], [["probe"], "sib 1", { x: 1 }, { TOKEN: "t" }, []]);
  const old = readConformanceSettings(loadManifest(plugin(root, "old", '[plugin.conformance]\ntags = ["echo"]\n')));
  assert.deepEqual(old.tags, ["echo"]);
  assert.match(old.warnings.join(), /deprecated: move it to nexo-conformance\.toml/);
  const both = readConformanceSettings(loadManifest(plugin(root, "both", '[plugin.conformance]\ntags = ["echo"]\n', 'tags = ["probe"]\n')));
  assert.deepEqual(both.tags, ["probe"], "the file wins");
  assert.match(both.warnings.join(), /ignored because nexo-conformance\.toml exists/);
  assert.deepEqual(readConformanceSettings(loadManifest(plugin(root, "none", ""))), { tags: [], source: null, warnings: [] });
  for (const bad of ['tagz = ["echo"]\n', "tags = 1\n", '[env]\nNEXO_X = "1"\n']) {
    const dir = plugin(root, `bad${bad.length}`, "", bad);
    assert.throws(
      () => readConformanceSettings(loadManifest(dir)),
      (e: unknown) => isNexoError(e, ErrorCodes.CONFORMANCE_INVALID_OPTIONS),
      bad,
    );
  }
});

test("conformance settings - optional features are optional: configure answered -32601, a manifest that is not an echo, an own server_version all pass", async (t) => {
  const root = tempDir(t);
  const dir = plugin(root, "refsdk", "", undefined, { UPSTREAM_NO_CONFIGURE: "1" });
  const warnings: string[] = [];
  const report = await runConformance({ pluginDir: dir, only: ["configure", "initialize-result", "initialize-server-version"], onWarning: (w) => warnings.push(w) });
  assert.deepEqual(
    report.results.map((r) => [r.id, r.status, "reason" in r ? r.reason : ""]),
    [
      ["configure", "pass", ""],
      ["initialize-result", "pass", ""],
      ["initialize-server-version", "pass", ""],
    ],
  );
  assert.deepEqual(warnings, []);
  // A declared server_version is checked exactly ("refsdk-upstream" is what the fixture reports).
  const declared = plugin(root, "declared", "", 'server_version = "refsdk 9"\n');
  const r2 = await runConformance({ pluginDir: declared, only: ["initialize-server-version"] });
  assert.equal(r2.results[0].status, "fail");
});

test("conformance settings - config from nexo-conformance.toml is checked against the plugin's schema at start and sent by the configure vector", async (t) => {
  const root = tempDir(t);
  const schema = `[plugin.config_schema]\nshape = "object"\nschema = '''{"type":"object","properties":{"feed_url":{"type":"string"}},"required":["feed_url"],"additionalProperties":false}'''\n`;
  const good = await runConformance({ pluginDir: plugin(root, "cfggood", schema, '[config]\nfeed_url = "http://127.0.0.1:9/"\n'), only: ["configure", "unknown-method"] });
  assert.deepEqual(
    good.results.map((r) => r.status),
    ["pass", "pass"],
  );
  // Without a sample config the plugin cannot start, as under the daemon: every vector says why.
  const none = await runConformance({ pluginDir: plugin(root, "cfgnone", schema), only: ["configure", "unknown-method"] });
  for (const r of none.results) {
    assert.equal(r.status, "fail");
    assert.match("reason" in r ? (r.reason ?? "") : "", /does not match \[plugin\.config_schema\]: \/feed_url: is required/);
  }
});

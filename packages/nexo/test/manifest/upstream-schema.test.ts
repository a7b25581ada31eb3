import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SCAFFOLD_LANGS, scaffoldPlugin } from "../../src/scaffold/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { strictUpstreamParse } from "./upstream-schema.js";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));

test("manifest upstream schema - the strict reader refuses unknown fields, missing required fields and wrong types", () => {
  const ok = '[plugin]\nid = "a"\nversion = "1.0.0"\nname = "A"\ndescription = "d"\nmin_nexo_version = ">=0.1.0"\n';
  assert.deepEqual(strictUpstreamParse(ok), []);
  assert.deepEqual(
    strictUpstreamParse(`${ok}[plugin.conformance]\ntags = ["echo"]\n`).map((p) => [p.path, p.kind]),
    [["plugin.conformance", "unknown_field"]],
  );
  assert.deepEqual(
    strictUpstreamParse(ok.replace('name = "A"\n', "")).map((p) => [p.path, p.kind]),
    [["plugin.name", "missing_field"]],
  );
  assert.deepEqual(
    strictUpstreamParse(ok.replace('"1.0.0"', '"v1.0.0"')).map((p) => [p.path, p.kind]),
    [["plugin.version", "type"]],
  );
  assert.deepEqual(
    strictUpstreamParse(`${ok}[plugin.capabilities.http_server]\nport = 1\n`).map((p) => [p.path, p.kind]),
    [["plugin.capabilities.http_server.token_env", "missing_field"]],
  );
  assert.deepEqual(
    strictUpstreamParse(`${ok}[[plugin.channels.register]]\nkind = "x"\nadapter = "X"\nextra = 1\n`).map((p) => p.path),
    ["plugin.channels.register[0].extra"],
  );
});

for (const lang of SCAFFOLD_LANGS) {
  test(`manifest upstream schema - a plugin scaffolded with --lang ${lang} parses strictly as an upstream manifest`, async (t) => {
    const dir = join(tempDir(t), "demo_plugin");
    await scaffoldPlugin({ id: "demo_plugin", lang, dir, build: false });
    const manifest = readFileSync(join(dir, "nexo-plugin.toml"), "utf8");
    assert.deepEqual(strictUpstreamParse(manifest), []);
    // Its conformance settings are beside it, not in it.
    assert.match(readFileSync(join(dir, "nexo-conformance.toml"), "utf8"), /^tags = \[/m);
  });
}

test("manifest upstream schema - no example, template or conformance plugin carries a field an upstream host would refuse as unknown", () => {
  const manifests: string[] = [];
  for (const root of ["examples", "templates", "conformance/bad", "conformance"]) {
    for (const name of readdirSync(join(REPO, root))) {
      for (const file of ["plugin.toml", "nexo-plugin.toml"]) {
        const p = join(REPO, root, name, file);
        try {
          manifests.push(`${p}\n${readFileSync(p, "utf8")}`);
        } catch {
          // not a plugin directory
        }
      }
    }
  }
  assert.ok(manifests.length >= 50, `found ${manifests.length} manifests`);
  for (const m of manifests) {
    const [path, ...rest] = m.split("\n");
    const unknown = strictUpstreamParse(rest.join("\n").replaceAll("{{id}}", "demo")).filter((p) => p.kind === "unknown_field");
    assert.deepEqual(unknown, [], path);
  }
});

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { defaultVectorsDir, loadVector, loadVectors } from "../../src/conformance/index.js";
import { ErrorCodes, NexoError } from "../../src/errors.js";
import { loadManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const CONFORMANCE = fileURLToPath(new URL("../../../../conformance/", import.meta.url));

test("conformance vectors - every shipped vector loads, and ids are unique", () => {
  const vectors = loadVectors();
  assert.equal(defaultVectorsDir(), join(CONFORMANCE, "vectors/"));
  assert.ok(vectors.length >= 37, `${vectors.length} vectors`);
  assert.equal(new Set(vectors.map((v) => v.id)).size, vectors.length);
});

test("conformance vectors - each vector has exactly one broken plugin in bad/, and each broken plugin a vector", () => {
  const ids = loadVectors()
    .map((v) => v.id)
    .sort();
  const bad = readdirSync(join(CONFORMANCE, "bad")).sort();
  assert.deepEqual(bad, ids);
  for (const id of bad) {
    const m = loadManifest(join(CONFORMANCE, "bad", id), { nexoVersion: NEXO_VERSION });
    assert.equal(m.entrypoint.env.CONFORMANCE_BREAK, id, `bad/${id} breaks ${m.entrypoint.env.CONFORMANCE_BREAK}`);
    assert.deepEqual(m.warnings, [], `bad/${id}: ${m.warnings.join("; ")}`);
  }
  // The fixture refuses a break it does not know, so a typo cannot pass as "broken".
  const fixture = readFileSync(join(CONFORMANCE, "fixture", "reference-plugin.cjs"), "utf8");
  for (const id of ids) assert.ok(fixture.includes(`"${id}":`) || fixture.includes(`  ${id}:`), `BREAKS has no entry for ${id}`);
});

test("conformance vectors - the README's table lists every vector", () => {
  const readme = readFileSync(join(CONFORMANCE, "README.md"), "utf8");
  for (const v of loadVectors()) assert.match(readme, new RegExp(`^\\| \`${v.id}\` \\| ${v.title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\|`, "m"), v.id);
});

test("conformance vectors - a malformed vector is refused naming the file and the field", (t) => {
  const dir = tempDir(t);
  const write = (name: string, v: unknown): string => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, typeof v === "string" ? v : JSON.stringify(v));
    return f;
  };
  const base = { title: "t", contract: "c", steps: [{ send: { jsonrpc: "2.0", id: 2, method: "x" } }] };
  const cases: Array<[string, unknown, RegExp]> = [
    ["not-json", "{", /json:/],
    ["wrong-id", { ...base, id: "other" }, /id: must equal the file name/],
    ["unknown-step", { ...base, id: "unknown-step", steps: [{ shout: 1 }] }, /\/steps\/0/],
    ["bad-tag", { ...base, id: "bad-tag", requires: ["telepathy"] }, /\/requires\/0/],
    ["probe-untagged", { ...base, id: "probe-untagged", probe: true }, /must require the "probe" tag/],
    ["bad-matcher", { ...base, id: "bad-matcher", steps: [{ expect: { id: { $nope: 1 } } }] }, /steps\[0\]\.expect\.id\.\$nope/],
    ["bad-template", { ...base, id: "bad-template", steps: [{ send: { a: { $type: "string" } } }] }, /steps\[0\]\.send/],
  ];
  for (const [name, v, pattern] of cases) {
    const file = write(name, v);
    assert.throws(
      () => loadVector(file),
      (err: unknown) => err instanceof NexoError && err.code === ErrorCodes.CONFORMANCE_INVALID_VECTOR && err.message.includes(file) && pattern.test(err.message),
      name,
    );
  }
  assert.throws(
    () => loadVectors(join(dir, "missing")),
    (err: unknown) => err instanceof NexoError && err.code === ErrorCodes.CONFORMANCE_INVALID_VECTOR,
  );
  assert.ok(existsSync(join(dir, "not-json.json")));
});

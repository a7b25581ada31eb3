// The echo examples built on each SDK pass every conformance vector: none
// failed, none skipped. (The templates are checked through `nexo plugin new`
// in test/surfaces/cli/plugin-dev.test.ts.)
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { loadVectors, runConformance } from "../../src/conformance/index.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples/", import.meta.url));

for (const [name, id] of [
  ["echo-ts", "echo"],
  ["echo-python", "echo_py"],
] as const) {
  test(`conformance sdk plugins - examples/${name} passes every vector`, async () => {
    const report = await runConformance({ pluginDir: join(EXAMPLES, name), jobs: 3, timeScale: 3 });
    assert.equal(report.plugin.id, id);
    const notPassed = report.results.filter((r) => r.status !== "pass").map((r) => `${r.status} ${r.id}: ${r.reason}`);
    assert.deepEqual(notPassed, []);
    assert.equal(report.passed, loadVectors().length);
  });
}

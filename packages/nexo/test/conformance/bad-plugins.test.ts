// Proof that every vector can fail, and fails only for what it checks: each
// plugin in conformance/bad/<id>/ (the reference plugin with one behaviour
// broken) must fail vector <id> and pass every other.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { loadVectors, runConformance } from "../../src/conformance/index.js";

const BAD = fileURLToPath(new URL("../../../../conformance/bad/", import.meta.url));
const TOTAL = loadVectors().length;

// Six broken plugins at a time, each running its vectors four at a time; deadlines x2 for the shared machine.
describe("conformance bad plugins", { concurrency: 6 }, () => {
  for (const id of readdirSync(BAD).sort()) {
    test(`conformance bad plugins - bad/${id} fails vector ${id} and no other`, async () => {
      const report = await runConformance({ pluginDir: join(BAD, id), jobs: 4, timeScale: 2 });
      const failed = report.results.filter((r) => r.status === "fail");
      assert.deepEqual(
        failed.map((r) => r.id),
        [id],
        failed.map((r) => `${r.id}: ${r.reason}`).join("\n"),
      );
      assert.equal(report.passed, TOTAL - 1);
      assert.equal(report.skipped, 0);
    });
  }
});

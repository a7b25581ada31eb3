import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runConformance, type ConformanceReport } from "../../src/conformance/index.js";
import { findManifestFile } from "../../src/manifest/index.js";

const EXAMPLES = fileURLToPath(new URL("../../../../examples/", import.meta.url));

/** Every example directory that is a plugin (has a manifest). */
function examplePlugins(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && findManifestFile(join(EXAMPLES, e.name)) !== null)
    .map((e) => e.name)
    .sort();
}

/** The Rust example runs its release binary: build it (a no-op when current); without cargo an existing binary must do. */
function ensureRustBuilt(): void {
  const dir = join(EXAMPLES, "echo-rust");
  if (!existsSync(dir)) return;
  const r = spawnSync("cargo", ["build", "--release", "--quiet"], { cwd: dir, encoding: "utf8", timeout: 600_000 });
  if (r.error && !existsSync(join(dir, "target", "release", "echo_rust")))
    throw new Error(`cannot build examples/echo-rust (cargo: ${r.error.message}); run bash scripts/setup.sh`);
  if (!r.error && r.status !== 0) throw new Error(`cargo build in examples/echo-rust failed:\n${r.stderr}`);
}

test("conformance examples - every example plugin passes nexo plugin test", async () => {
  const plugins = examplePlugins();
  // The set is derived, not listed: a new example is checked without editing this test.
  assert.ok(plugins.length >= 11 && plugins.includes("feed-poller-python"), plugins.join(", "));
  ensureRustBuilt();
  // Three plugins at a time, two vectors each: six plugin processes, enough to keep a small machine busy
  // without starving the deadlines; the deadlines get some headroom anyway.
  const reports: Array<[string, ConformanceReport]> = [];
  const queue = [...plugins];
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        reports.push([name, await runConformance({ pluginDir: join(EXAMPLES, name), jobs: 2, timeScale: 2 })]);
      }
    }),
  );
  const failures = reports.flatMap(([name, r]) => r.results.filter((x) => x.status === "fail").map((x) => `${name}: ${x.id}: ${"reason" in x ? x.reason : ""}`));
  assert.deepEqual(failures, []);
  for (const [name, r] of reports) assert.ok(r.passed >= 12, `${name}: only ${r.passed} vectors passed`);
  // The echo examples of the SDKs declare every optional behaviour: nothing may be skipped.
  for (const [name, r] of reports.filter(([n]) => /^echo-(ts|python)$/.test(n))) {
    assert.deepEqual(
      r.results.filter((x) => x.status !== "pass").map((x) => `${x.status} ${x.id}`),
      [],
      `${name} passes every vector`,
    );
  }
});

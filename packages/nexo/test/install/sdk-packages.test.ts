// The four SDKs as their registries would receive them: each ecosystem's own
// packaging tool builds or checks the package, with no warning accepted.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { publint } from "publint";
import { tempDir } from "../helpers/fixture-plugins.js";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

test("sdk packages - the TS SDK's npm package is publint-clean (types, exports, files)", async () => {
  const { messages } = await publint({ pkgDir: join(REPO, "packages", "plugin-sdk"), level: "suggestion", strict: true });
  assert.deepEqual(messages, []);
});

test("sdk packages - the Python SDK builds a wheel and an sdist (python -m build) that twine check --strict accepts", async (t) => {
  const work = tempDir(t);
  // Built from a copy: the build leaves build/ and *.egg-info behind.
  const src = join(work, "src");
  cpSync(join(REPO, "sdk", "python"), src, { recursive: true, filter: (p) => !/(__pycache__|\.pytest_cache|\.egg-info)$/.test(p) });
  const built = await run("python3", ["-m", "build", "--no-isolation", "--outdir", join(work, "dist"), src], work);
  assert.equal(built.code, 0, built.out);
  const dist = readdirSync(join(work, "dist")).sort();
  assert.deepEqual(
    dist.map((f) => f.replace(/\d+\.\d+\.\d+/, "X")),
    ["nexo_plugin_sdk-X-py3-none-any.whl", "nexo_plugin_sdk-X.tar.gz"],
  );
  const checked = await run("python3", ["-m", "twine", "check", "--strict", ...dist.map((f) => join(work, "dist", f))], work);
  assert.equal(checked.code, 0, checked.out);
  assert.doesNotMatch(built.out, /SetuptoolsDeprecationWarning|SetuptoolsWarning|License classifiers/);
});

test("sdk packages - the PHP SDK passes composer validate --strict", async () => {
  const r = await run("composer", ["validate", "--strict", "--no-check-publish", join(REPO, "sdk", "php", "composer.json")], REPO, { COMPOSER_NO_INTERACTION: "1" });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /is valid/);
});

test("sdk packages - the Rust crate packages with no warning and ships no file that needs the checkout", async (t) => {
  // --offline: resolved against the local index cache; --no-verify: the crate is compiled by its own tests elsewhere.
  const env = { CARGO_TARGET_DIR: join(tempDir(t), "target") };
  const list = await run("cargo", ["package", "--list", "--allow-dirty", "--offline"], join(REPO, "sdk", "rust"), env);
  assert.equal(list.code, 0, list.out);
  const files = list.out
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("warning"));
  assert.ok(files.includes("LICENSE") && files.includes("README.md") && files.includes("src/lib.rs"), list.out);
  for (const t of ["tests/in_process.rs", "tests/process.rs", "tests/readme_snippets.rs", "tests/readme-manifest.toml"])
    assert.ok(files.includes(t), `${t} ships: it needs nothing outside the crate`);
  const pkg = await run("cargo", ["package", "--allow-dirty", "--offline", "--no-verify"], join(REPO, "sdk", "rust"), env);
  assert.equal(pkg.code, 0, pkg.out);
  assert.deepEqual(
    pkg.out.split("\n").filter((l) => /warning/i.test(l)),
    [],
  );
});

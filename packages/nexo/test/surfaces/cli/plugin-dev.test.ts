// `nexo plugin new` and `nexo plugin test` through the real binary, as a
// plugin author uses them: scaffold, then the conformance kit, then the
// scaffold's own test. No daemon; npm's registry is a fake on loopback.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { loadVectors } from "../../../src/conformance/index.js";
import { scaffoldPlugin } from "../../../src/scaffold/index.js";
import { ErrorCodes, NexoError } from "../../../src/errors.js";
import { startFakeNpmRegistry } from "../../helpers/fake-npm-registry.js";
import { tempDir } from "../../helpers/fixture-plugins.js";

const NEXO = fileURLToPath(new URL("../../../bin/nexo.js", import.meta.url));
const REPO = fileURLToPath(new URL("../../../../../", import.meta.url));
const CONFORMANCE = fileURLToPath(new URL("../../../../../conformance/", import.meta.url));
const TOTAL = loadVectors().length;

function run(cmd: string, args: string[], cwd?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Without NODE_TEST_CONTEXT, a nested `node --test` reports like a top-level run.
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const child = spawn(cmd, args, { cwd, env: { ...env, NODE_OPTIONS: "", ...extraEnv } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
const nexo = (args: string[], cwd?: string, env?: NodeJS.ProcessEnv) => run(process.execPath, [NEXO, ...args], cwd, env);

/** npm pointed at a loopback registry serving the lockfile's packages from npm's cache, with its own cache dir. */
async function offlineNpm(t: TestContext, root: string): Promise<NodeJS.ProcessEnv> {
  const registry = await startFakeNpmRegistry(t, { lockfile: join(REPO, "package-lock.json") });
  return { npm_config_registry: registry.url, npm_config_cache: join(root, ".npm-cache"), npm_config_update_notifier: "false" };
}

function filesUnder(dir: string, sub = ""): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (["node_modules", ".venv", "vendor", ".npm-cache"].includes(e.name)) return [];
    return e.isDirectory() ? filesUnder(dir, rel) : [rel];
  });
}

function assertFullPass(out: { code: number | null; stdout: string; stderr: string }): void {
  assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
  const lines = out.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^nexo plugin test: \w+ 0\.1\.0 \(.+\), tags: echo, probe, \d+ vectors$/);
  assert.equal(lines.filter((l) => l.startsWith("ok  ")).length, TOTAL, "one ok line per vector");
  assert.equal(lines.at(-1), `${TOTAL} passed, 0 failed`);
}

function assertNoCheckoutPath(dir: string): void {
  for (const f of filesUnder(dir)) assert.ok(!readFileSync(join(dir, f), "utf8").includes(REPO.replace(/\/$/, "")), `${f} names the nexo checkout`);
}

test("cli plugin-dev - nexo plugin new --lang ts makes a plugin that passes its own test, its SDK a version range installed from the shipped tarball", async (t) => {
  const root = tempDir(t);
  const created = await nexo(["plugin", "new", "demo_ts", "--lang", "ts"], root, await offlineNpm(t, root));
  assert.equal(created.code, 0, created.stderr);
  const dir = join(root, "demo_ts");
  assert.match(created.stdout, /created ts plugin demo_ts/);
  assert.match(created.stdout, /nexo plugin test demo_ts/);
  assert.match(created.stderr, /^\$ npm install --no-save .*vendor\/nexo-plugin-sdk-\d+\.\d+\.\d+\.tgz$/m, "progress of the npm install");
  assert.deepEqual(filesUnder(dir).sort(), [
    ".gitignore",
    "README.md",
    "dist/main.js",
    "nexo-conformance.toml",
    "nexo-plugin.toml",
    "package.json",
    "src/main.ts",
    "test/plugin.test.mjs",
    "tsconfig.json",
  ]);
  for (const f of filesUnder(dir)) assert.ok(!readFileSync(join(dir, f), "utf8").includes("{{"), `placeholder left in ${f}`);
  assert.match(readFileSync(join(dir, "nexo-plugin.toml"), "utf8"), /^id = "demo_ts"$/m);
  assert.match(readFileSync(join(dir, "README.md"), "utf8"), /^# demo_ts$/m);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  assert.equal(pkg.name, "demo_ts");
  assert.match(pkg.dependencies["nexo-plugin-sdk"], /^\^\d+\.\d+\.\d+$/);
  assert.ok(existsSync(join(dir, "node_modules", "nexo-plugin-sdk", "dist", "index.js")), "the SDK installed by npm");
  assert.ok(!lstatSync(join(dir, "node_modules", "nexo-plugin-sdk")).isSymbolicLink(), "a copy, not a link into nexo");
  assertNoCheckoutPath(dir);

  // `nexo plugin test` on each language's scaffold: test/install/packaged-install.test.ts.
  const own = await run(process.execPath, ["--test"], dir);
  assert.equal(own.code, 0, own.stdout + own.stderr);
  assert.match(own.stdout, /# pass 1/);
});

test("cli plugin-dev - nexo plugin new --lang python makes a plugin with its own .venv holding the SDK wheel, that passes its own test", async (t) => {
  const root = tempDir(t);
  const dir = join(root, "plugins", "py");
  const created = await nexo(["plugin", "new", "demo_py", "--lang", "python", "--dir", dir]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stderr, /^\$ python3 -m venv \.venv$/m, "progress of the venv step");
  assert.deepEqual(filesUnder(dir).sort(), [".gitignore", "README.md", "main.py", "nexo-conformance.toml", "nexo-plugin.toml", "requirements.txt", "test_plugin.py"]);
  for (const f of filesUnder(dir)) assert.ok(!readFileSync(join(dir, f), "utf8").includes("{{"), `placeholder left in ${f}`);
  assert.match(readFileSync(join(dir, "requirements.txt"), "utf8"), /^nexo-plugin-sdk ~= \d+\.\d+\.\d+$/m);
  assert.match(readFileSync(join(dir, "nexo-plugin.toml"), "utf8"), /^command = "\.venv\/bin\/python"$/m);
  assert.ok(
    readdirSync(join(dir, "vendor")).some((f) => /^nexo_plugin_sdk-.+\.whl$/.test(f)),
    "the wheel is vendored",
  );
  assertNoCheckoutPath(dir);

  // `nexo plugin test` on each language's scaffold: test/install/packaged-install.test.ts.
  const own = await run(join(dir, ".venv", "bin", "python"), ["-m", "unittest", "-v"], dir);
  assert.equal(own.code, 0, own.stdout + own.stderr);
  assert.match(own.stderr, /Ran 1 test/);
});

test("cli plugin-dev - nexo plugin new --lang php makes a plugin that passes nexo plugin test and its own test", async (t) => {
  const root = tempDir(t);
  const dir = join(root, "demo_php");
  const created = await nexo(["plugin", "new", "demo_php", "--lang", "php", "--dir", dir]);
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual(filesUnder(dir).sort(), ["README.md", "composer.json", "main.php", "nexo-conformance.toml", "nexo-plugin.toml", "test_plugin.php"]);
  for (const f of filesUnder(dir)) assert.ok(!readFileSync(join(dir, f), "utf8").includes("{{"), `placeholder left in ${f}`);
  assert.match(JSON.parse(readFileSync(join(dir, "composer.json"), "utf8")).require["nexo/plugin-sdk"], /^\^\d+\.\d+\.\d+$/);
  assert.ok(existsSync(join(dir, "vendor", "nexo", "plugin-sdk", "src", "PluginAdapter.php")), "the SDK vendored where Composer puts it");
  assertNoCheckoutPath(dir);
  // The report's format, on the fastest scaffold (every language's: test/install/packaged-install.test.ts).
  assertFullPass(await nexo(["plugin", "test", dir, "--time-scale", "3"]));
  const own = await run("php", ["test_plugin.php"], dir);
  assert.equal(own.code, 0, own.stdout + own.stderr);
});

test("cli plugin-dev - nexo plugin new --lang rust --no-build renders a crate depending on nexo-plugin-sdk, patched to the vendored crate, and says how to build it", async (t) => {
  const root = tempDir(t);
  const dir = join(root, "demo_rs");
  const created = await nexo(["plugin", "new", "demo_rs", "--lang", "rust", "--dir", dir, "--no-build"]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /cargo build --release/);
  for (const f of filesUnder(dir)) assert.ok(!readFileSync(join(dir, f), "utf8").includes("{{"), `placeholder left in ${f}`);
  const cargo = readFileSync(join(dir, "Cargo.toml"), "utf8");
  assert.match(cargo, /^nexo-plugin-sdk = "\d+\.\d+\.\d+"$/m);
  assert.match(cargo, /^\[patch\.crates-io\]\nnexo-plugin-sdk = \{ path = "vendor\/nexo-plugin-sdk" \}$/m);
  assert.ok(existsSync(join(dir, "vendor", "nexo-plugin-sdk", "src", "lib.rs")), "the crate is vendored");
  assert.ok(!existsSync(join(dir, "vendor", "nexo-plugin-sdk", "tests")), "without the SDK's own tests");
  assertNoCheckoutPath(dir);
  assert.match(readFileSync(join(dir, "nexo-plugin.toml"), "utf8"), /command = "target\/release\/demo_rs"/);
});

test("cli plugin-dev - nexo plugin test exits 1 on a failing vector, names it, and ends with the counts", async () => {
  // Two vectors, the failing one and one it passes: the whole matrix of broken plugins is test/conformance/bad-plugins.test.ts.
  const out = await nexo(["plugin", "test", join(CONFORMANCE, "bad", "unknown-method"), "--only", "configure,unknown-method", "--time-scale", "3"]);
  assert.equal(out.code, 1);
  assert.match(out.stdout, /^ok +configure +/m);
  assert.match(out.stdout, /^FAIL {2}unknown-method +an unknown method gets -32601/m);
  assert.match(out.stdout, /^ {6}step 2: the reply to id 42 does not match: at \$\.error\.code: expected -32601, got -32603/m);
  assert.equal(out.stdout.trimEnd().split("\n").at(-1), "1 passed, 1 failed");

  const json = await nexo(["plugin", "test", join(CONFORMANCE, "fixture"), "--only", "configure,echo-utf8", "--tags", "probe", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.deepEqual([report.passed, report.failed, report.skipped], [1, 0, 1]);
  assert.deepEqual(
    report.results.map((r: { id: string; status: string }) => [r.id, r.status]),
    [
      ["configure", "pass"],
      ["echo-utf8", "skip"],
    ],
  );
});

test("cli plugin-dev - bad input gets a stable error code and exit 1", async (t) => {
  const root = tempDir(t);
  const badId = await nexo(["plugin", "new", "Bad-Id", "--lang", "ts"], root);
  assert.equal(badId.code, 1);
  assert.match(badId.stderr, /NEXO_ERR_SCAFFOLD_INVALID_ID/);
  const badLang = await nexo(["plugin", "new", "ok_id", "--lang", "cobol"], root);
  assert.match(badLang.stderr, /NEXO_ERR_SCAFFOLD_UNKNOWN_LANG/);
  mkdirSync(join(root, "taken"));
  writeFileSync(join(root, "taken", "keep.txt"), "mine");
  const taken = await nexo(["plugin", "new", "taken", "--lang", "python"], root);
  assert.match(taken.stderr, /NEXO_ERR_SCAFFOLD_TARGET_EXISTS/);
  assert.deepEqual(readdirSync(join(root, "taken")), ["keep.txt"], "nothing written into an existing directory");
  const noManifest = await nexo(["plugin", "test", root]);
  assert.equal(noManifest.code, 1);
  assert.match(noManifest.stderr, /NEXO_ERR_MANIFEST_NOT_FOUND/);
  const badScale = await nexo(["plugin", "test", join(CONFORMANCE, "fixture"), "--time-scale", "zero"]);
  assert.equal(badScale.code, 1);
  assert.match(badScale.stderr, /NEXO_ERR_CONFORMANCE_INVALID_OPTIONS/);
  await assert.rejects(
    scaffoldPlugin({ id: "x", lang: "ts", dir: join(root, "t"), templatesDir: root }),
    (e) => e instanceof NexoError && e.code === ErrorCodes.SCAFFOLD_TEMPLATE_MISSING,
  );
});

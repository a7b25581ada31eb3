import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { normalizeConfig } from "../../src/config/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { installPlugin, packPlugin, selectArchive } from "../../src/packaging/index.js";
import { FIXTURE_SCRIPT, tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

const REPO = resolve(fileURLToPath(new URL("../../../../", import.meta.url)));
const EXAMPLES = join(REPO, "examples");

/** Every file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

/** No installed file may name the checkout: the plugin must not reach back into it. */
function assertNoCheckoutPath(dir: string): void {
  for (const f of filesUnder(dir)) assert.equal(readFileSync(join(dir, f)).includes(REPO), false, `${f} names the checkout ${REPO}`);
}

/** Start a daemon from a directory outside the checkout and get one echo round trip from each plugin (id = channel kind). */
async function echoUnderDaemon(t: TestContext, root: string, into: string, ...ids: string[]): Promise<void> {
  const daemon = await Daemon.start(
    normalizeConfig({ state_dir: join(root, "state"), api: { enabled: false }, plugin_paths: [into], plugins: Object.fromEntries(ids.map((id) => [id, {}])) }, null, root),
    {
      logger: captureLogger().logger,
    },
  );
  t.after(() => daemon.stop());
  for (const id of ids) {
    assert.equal(daemon.host.require(id).status().state, "ready");
    const got: Event[] = [];
    daemon.broker.subscribe(`plugin.inbound.${id}`, (e) => void got.push(e));
    await daemon.broker.publish(`plugin.outbound.${id}`, newEvent(`plugin.outbound.${id}`, "test", { text: "hello from outside" }));
    await waitFor(() => got.length === 1, `echo from ${id}`, 20_000);
    assert.deepEqual(got[0].payload, { text: "hello from outside" });
  }
}

test("portable packs - a TypeScript plugin is bundled into one file: installed outside the checkout with no node_modules, it echoes under a real daemon", async (t) => {
  const root = tempDir(t);
  const r = await packPlugin(join(EXAMPLES, "echo-ts"), { outDir: join(root, "out") });
  assert.equal(r.runtime, "node");
  assert.equal(
    r.manifest.files.some((f) => f.path.startsWith("node_modules/")),
    false,
  );
  const into = join(root, "plugins");
  const installed = await installPlugin(r.file, { into });
  const main = readFileSync(join(installed.dir, "dist", "main.js"), "utf8");
  assert.doesNotMatch(main, /from\s+["']nexo-plugin-sdk["']/, "the SDK import is bundled, not left for node_modules");
  assert.equal(existsSync(join(installed.dir, "dist", "main.js.map")), false);
  assertNoCheckoutPath(installed.dir);
  await echoUnderDaemon(t, root, into, "echo");
});

test("portable packs - --with-node-modules ships the real dependency tree, hoisted packages included", async (t) => {
  const root = tempDir(t);
  const r = await packPlugin(join(EXAMPLES, "echo-ts"), { outDir: join(root, "out"), withNodeModules: true });
  const paths = r.manifest.files.map((f) => f.path);
  // smol-toml is the SDK's dependency, hoisted to the workspace root: it must travel too.
  for (const p of ["node_modules/nexo-plugin-sdk/package.json", "node_modules/nexo-plugin-sdk/dist/index.js", "node_modules/smol-toml/package.json"])
    assert.ok(paths.includes(p), p);
  assert.equal(
    paths.some((p) => p.startsWith("node_modules/uuid/")),
    false,
    "devDependencies stay out",
  );
  assert.equal(
    paths.some((p) => p.startsWith("node_modules/nexo-plugin-sdk/test/") || p === "node_modules/nexo-plugin-sdk/tsconfig.json"),
    false,
    "a linked package ships what its files field names",
  );
  const into = join(root, "plugins");
  await installPlugin(r.file, { into });
  await echoUnderDaemon(t, root, into, "echo");
});

test("portable packs - a Python plugin gets the SDK its interpreter imports vendored beside it and echoes from outside the checkout", async (t) => {
  const root = tempDir(t);
  const r = await packPlugin(join(EXAMPLES, "echo-python"), { outDir: join(root, "out") });
  assert.equal(r.runtime, "python");
  assert.ok(r.manifest.files.some((f) => f.path === "nexo_plugin_sdk/__init__.py"));
  assert.equal(
    r.manifest.files.some((f) => f.path.includes("__pycache__")),
    false,
  );
  const into = join(root, "plugins");
  const installed = await installPlugin(r.file, { into });
  assertNoCheckoutPath(installed.dir);
  await echoUnderDaemon(t, root, into, "echo_py");
});

test("portable packs - a Python plugin started from its own virtualenv: the venv's packages are vendored, pip's tooling left out, and the pack starts plain python3", async (t) => {
  const root = tempDir(t);
  const plugin = join(root, "venv-plugin");
  cpSync(join(EXAMPLES, "echo-python"), plugin, { recursive: true, filter: (p) => !p.includes("__pycache__") });
  execFileSync("python3", ["-m", "venv", "--without-pip", join(plugin, ".venv")]);
  const site = execFileSync(join(plugin, ".venv", "bin", "python"), ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { encoding: "utf8" }).trim();
  // What `pip install nexo-plugin-sdk` leaves in site-packages, plus pip itself.
  cpSync(join(REPO, "sdk", "python", "nexo_plugin_sdk"), join(site, "nexo_plugin_sdk"), { recursive: true });
  mkdirSync(join(site, "nexo_plugin_sdk-0.1.0.dist-info"));
  writeFileSync(join(site, "nexo_plugin_sdk-0.1.0.dist-info", "METADATA"), "Name: nexo-plugin-sdk\n");
  mkdirSync(join(site, "pip"));
  writeFileSync(join(site, "pip", "__init__.py"), "");
  const toml = readFileSync(join(plugin, "nexo-plugin.toml"), "utf8").replace('command = "python3"', 'command = ".venv/bin/python"');
  writeFileSync(join(plugin, "nexo-plugin.toml"), toml);

  const r = await packPlugin(plugin, { outDir: join(root, "out") });
  const paths = r.manifest.files.map((f) => f.path);
  assert.ok(paths.includes("nexo_plugin_sdk/__init__.py"));
  assert.equal(
    paths.some((p) => p.startsWith(".venv/") || p.startsWith("pip/") || p.includes("dist-info")),
    false,
    paths.join(" "),
  );
  const into = join(root, "plugins");
  const installed = await installPlugin(r.file, { into });
  assert.match(readFileSync(join(installed.dir, "nexo-plugin.toml"), "utf8"), /command = "python3"/);
  await echoUnderDaemon(t, root, into, "echo_py");
});

test("portable packs - a PHP plugin gets the SDK vendored under vendor/ and echoes from outside the checkout", async (t) => {
  const root = tempDir(t);
  const r = await packPlugin(join(EXAMPLES, "echo-php"), { outDir: join(root, "out") });
  assert.equal(r.runtime, "php");
  const paths = r.manifest.files.map((f) => f.path);
  assert.ok(paths.includes("vendor/autoload.php") && paths.includes("vendor/nexo/plugin-sdk/src/PluginAdapter.php"));
  const into = join(root, "plugins");
  const installed = await installPlugin(r.file, { into });
  assertNoCheckoutPath(installed.dir);
  await echoUnderDaemon(t, root, into, "echo_php");
});

test("portable packs - release archives: noarch with a bin/<id> launcher for scripts, the Rust binary under its triple; picked for this host and run by the daemon", async (t) => {
  const root = tempDir(t);
  const out = join(root, "out");
  const py = await packPlugin(join(EXAMPLES, "echo-python"), { outDir: out, format: "release" });
  assert.match(py.file, /echo_py-0\.1\.0-noarch\.tar\.gz$/);
  assert.match(readFileSync(`${py.file}.sha256`, "utf8"), /^[0-9a-f]{64}\n$/);
  assert.equal(readFileSync(`${py.file}.sha256`, "utf8").trim(), py.sha256);
  const pyPaths = py.manifest.files.map((f) => f.path);
  assert.ok(pyPaths.includes("bin/echo_py") && pyPaths.includes("lib/main.py") && pyPaths.includes("lib/nexo_plugin_sdk/__init__.py") && pyPaths.includes("nexo-plugin.toml"));
  assert.equal(py.manifest.files.find((f) => f.path === "bin/echo_py")?.executable, true);

  const rust = await packPlugin(join(EXAMPLES, "echo-rust"), { outDir: out, format: "release" });
  assert.equal(rust.runtime, "native");
  assert.match(rust.file, /echo_rust-0\.1\.0-[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_-]+\.tar\.gz$/);
  assert.notEqual(rust.target, "noarch");
  const bin = rust.manifest.files.find((f) => f.path === "bin/echo_rust");
  assert.ok(bin && bin.executable && bin.size > 100_000, "the compiled binary travels as bin/echo_rust");

  // A foreign-triple build beside them is passed over; the host's archive wins over noarch.
  writeFileSync(join(out, "echo_rust-0.1.0-riscv64gc-unknown-none-elf.tar.gz"), "not for this host");
  const into = join(root, "plugins");
  for (const id of ["echo_py", "echo_rust"]) {
    const dir = join(root, `pick-${id}`);
    mkdirSync(dir);
    for (const f of readdirSync(out).filter((n) => n.startsWith(`${id}-`))) cpSync(join(out, f), join(dir, f));
    const chosen = selectArchive([dir], rust.target!);
    assert.equal(chosen, join(dir, `${id}-0.1.0-${id === "echo_rust" ? rust.target : "noarch"}.tar.gz`));
    await installPlugin(chosen, { into, target: rust.target! });
  }
  assert.equal(existsSync(join(into, "echo_rust", "target")), false);
  await echoUnderDaemon(t, root, into, "echo_py", "echo_rust");
  await assert.rejects(installPlugin(join(out, `echo_rust-0.1.0-${rust.target}.tar.gz`), { into: join(root, "elsewhere"), target: "aarch64-apple-darwin" }), (e) =>
    isNexoError(e, ErrorCodes.PACKAGE_TARGET),
  );
});

test("portable packs - an upstream-style release archive made by GNU tar (a ./ root entry, no listing, no exec bit) installs, is checked against its sha256sum-style .sha256, and runs", async (t) => {
  const root = tempDir(t);
  const rel = join(root, "release-tree");
  mkdirSync(join(rel, "bin"), { recursive: true });
  mkdirSync(join(rel, "lib"));
  cpSync(FIXTURE_SCRIPT, join(rel, "lib", "plugin.mjs"));
  writeFileSync(join(rel, "bin", "upstream"), '#!/bin/sh\nexec node "$(dirname "$0")/../lib/plugin.mjs" echo\n', { mode: 0o644 });
  writeFileSync(
    join(rel, "nexo-plugin.toml"),
    `[plugin]\nid = "upstream"\nversion = "2.0.0"\n\n[plugin.entrypoint]\ncommand = "bin/upstream"\nenv = { FIXTURE_KIND = "upstream" }\n\n[[plugin.channels.register]]\nkind = "upstream"\n`,
  );
  const out = join(root, "dist");
  mkdirSync(out);
  const archive = join(out, "upstream-2.0.0-noarch.tar.gz");
  execFileSync("tar", ["czf", archive, "-C", rel, "."]);
  assert.match(execFileSync("tar", ["tzf", archive], { encoding: "utf8" }), /^\.\/\n/, "GNU tar wrote a ./ root entry");
  writeFileSync(`${archive}.sha256`, execFileSync("sha256sum", ["upstream-2.0.0-noarch.tar.gz"], { cwd: out, encoding: "utf8" }));
  const into = join(root, "plugins");
  const r = await installPlugin(selectArchive([out], "x86_64-unknown-linux-gnu"), { into });
  assert.equal(r.form, "release");
  assert.equal(statSync(join(into, "upstream", "bin", "upstream")).mode & 0o111, 0o111);
  await echoUnderDaemon(t, root, into, "upstream");
  writeFileSync(`${archive}.sha256`, `${"0".repeat(64)}  upstream-2.0.0-noarch.tar.gz\n`);
  await assert.rejects(installPlugin(archive, { into: join(root, "again") }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM));
});

test("portable packs - a Rust plugin without its built binary is refused, and so is an entrypoint outside the plugin directory", async (t) => {
  const root = tempDir(t);
  const src = join(root, "echo-rust");
  cpSync(join(EXAMPLES, "echo-rust"), src, { recursive: true, filter: (p) => !p.includes(`${join(EXAMPLES, "echo-rust")}/target`) });
  for (const format of ["nexo", "release"] as const) {
    await assert.rejects(
      packPlugin(src, { outDir: join(root, "out"), format }),
      (e) => isNexoError(e, ErrorCodes.PACKAGE_NOT_PORTABLE) && /target\/release\/echo_rust does not exist; build it first \(cargo build --release\)/.test(e.message),
    );
  }
  const manifest = (args: string, command = "node"): string => `[plugin]\nid = "outside"\nversion = "1.0.0"\n\n[plugin.entrypoint]\ncommand = "${command}"\nargs = ${args}\n`;
  const plugin = join(root, "outside");
  mkdirSync(plugin);
  writeFileSync(join(plugin, "main.js"), "");
  for (const [args, command] of [
    ['["../shared/main.js"]', "node"],
    ['["main.js"]', "/opt/node/bin/node"],
    ['["main.py"]', ".venv/bin/python"],
  ] as const) {
    if (command === ".venv/bin/python") {
      mkdirSync(join(plugin, ".venv", "bin"), { recursive: true });
      writeFileSync(join(plugin, ".venv", "bin", "python"), "#!/bin/sh\n");
      writeFileSync(join(plugin, "main.py"), "");
    }
    writeFileSync(join(plugin, "nexo-plugin.toml"), manifest(args, command));
    await assert.rejects(packPlugin(plugin, { outDir: join(root, "out") }), (e) => isNexoError(e, ErrorCodes.PACKAGE_NOT_PORTABLE), `${command} ${args}`);
  }
});

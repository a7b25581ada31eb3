// Nexo as a user installs it: the daemon (nexo-host) and the TS SDK packed
// with `npm pack`, installed with `npm install -g` into an empty prefix, then
// used only from directories outside the checkout. The npm registry is a fake
// on loopback serving the lockfile's packages from the npm cache `npm ci`
// filled (see helpers/fake-npm-registry.ts); better-sqlite3 gets the binary
// this checkout built, through prebuild-install's local-prebuilds setting,
// so nothing is compiled and nothing leaves the machine.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { create as createTar } from "tar";
import { startFakeNpmRegistry } from "../helpers/fake-npm-registry.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { waitFor } from "../helpers/wait.js";

/** waitFor, with `context()` (the daemon's log so far) added to the timeout error. */
async function waitWith(check: () => boolean | Promise<boolean>, what: string, context: () => string, timeoutMs: number, everyMs = 250): Promise<void> {
  try {
    await waitFor(check, what, timeoutMs, everyMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${context()}`, { cause: err });
  }
}

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const LANGS = ["ts", "python", "php", "rust"] as const;
type Lang = (typeof LANGS)[number];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every regular file under `dir` (symlinks not followed). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** npm pack `pkg` into `dest` (its prepack/postpack run as for a publish); returns the tarball's path. */
async function npmPack(pkg: string, dest: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = ok(await run("npm", ["pack", pkg, "--pack-destination", dest, "--json"], REPO, env), `npm pack ${pkg}`);
  const json = r.stdout.slice(r.stdout.indexOf("[")); // lifecycle scripts print before the JSON
  return join(dest, (JSON.parse(json) as Array<{ filename: string }>)[0].filename);
}

/** better-sqlite3's binary from this checkout as a prebuild-install tarball, so the install compiles nothing. */
async function localPrebuilds(dir: string): Promise<string> {
  const pkgDir = join(REPO, "node_modules", "better-sqlite3");
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
  await createTar({ gzip: true, file, cwd: pkgDir, portable: true }, ["build/Release/better_sqlite3.node"]);
  return dir;
}

/**
 * Ship a scaffolded plugin the way its author would: `nexo plugin pack` (Rust in
 * upstream's release layout, the others as Nexo packs), then `nexo plugin install`
 * into a directory of its own. Returns where the daemon finds it.
 */
async function deployPlugin(lang: Lang, scaffold: string, nexo: (args: string[], cwd: string) => Promise<Run>, packs: string, installed: string): Promise<string> {
  mkdirSync(packs, { recursive: true });
  const format = lang === "rust" ? ["--format", "release"] : [];
  const packed = ok(await nexo(["plugin", "pack", scaffold, "-o", packs, ...format], packs), `nexo plugin pack (${lang})`);
  const archive = packed.stdout.split("\n")[0].trim();
  if (lang === "rust") assert.match(archive, /-x86_64-[a-z0-9_-]+\.tar\.gz$|-aarch64-[a-z0-9_-]+\.tar\.gz$/, "a release archive names its target triple");
  const inst = ok(await nexo(["plugin", "install", archive, "--into", installed], packs), `nexo plugin install (${lang})`);
  const id = basename(scaffold);
  assert.match(inst.stdout, new RegExp(`^installed ${id} `, "m"));
  return join(installed, id);
}

test(
  "install - packed nexo-host + nexo-plugin-sdk install into an empty npm prefix; outside the checkout: --version, a plugin in each language passes nexo plugin test, is packed and installed into a second directory, a daemon in a third directory echoes through all four, no file names the checkout",
  { timeout: 900_000 },
  async (t) => {
    const work = tempDir(t, "nexo-install-");
    const prefix = join(work, "prefix");
    const dirs = { tarballs: join(work, "tarballs"), authoring: join(work, "authoring"), daemon: join(work, "daemon") };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: "false", npm_config_audit: "false", npm_config_fund: "false" };
    delete baseEnv.NODE_TEST_CONTEXT;
    delete baseEnv.NODE_OPTIONS;

    const sdkTgz = await npmPack(join(REPO, "packages", "plugin-sdk"), dirs.tarballs, baseEnv);
    const nexoTgz = await npmPack(join(REPO, "packages", "nexo"), dirs.tarballs, baseEnv);
    const sdkPkg = JSON.parse(readFileSync(join(REPO, "packages", "plugin-sdk", "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
    const registry = await startFakeNpmRegistry(t, {
      lockfile: join(REPO, "package-lock.json"),
      tarballs: [{ name: "nexo-plugin-sdk", version: sdkPkg.version, manifest: { dependencies: sdkPkg.dependencies, type: "module" }, file: sdkTgz }],
    });
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      PATH: `${join(prefix, "bin")}:${process.env.PATH}`,
      npm_config_registry: registry.url,
      npm_config_cache: join(work, "npm-cache"),
      // prebuild-install's per-package setting (`npm_config_<package>_local_prebuilds`); the
      // `prebuild-install_*` form does not survive the sh that runs install scripts.
      npm_config_better_sqlite3_local_prebuilds: await localPrebuilds(join(work, "prebuilds")),
      // Rust plugins share compiled dependencies with examples/echo-rust (same Cargo.lock).
      CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR ?? join(REPO, "examples", "echo-rust", "target"),
      NEXO_LOG_LEVEL: "info",
    };

    ok(await run("npm", ["install", "-g", "--prefix", prefix, sdkTgz, nexoTgz], work, env), "npm install -g");
    assert.ok(lstatSync(join(prefix, "bin", "nexo")).isSymbolicLink(), "the nexo binary is linked into <prefix>/bin");
    const nexo = (args: string[], cwd: string): Promise<Run> => run("nexo", args, cwd, env);
    const version = JSON.parse(readFileSync(join(REPO, "packages", "nexo", "package.json"), "utf8")).version as string;
    assert.match(
      ok(await nexo(["--version"], dirs.authoring), "nexo --version").stdout.trim(),
      new RegExp(`^nexo ${version.replace(/\./g, "\\.")} \\(nexo contract/daemon compat \\d+\\.\\d+\\.\\d+\\)$`),
    );

    // The demo ships inside the package: its modules import nexo-host (a self-reference), its plugins run from there.
    const assets = join(prefix, "lib", "node_modules", "nexo-host", "assets");
    for (const mod of ["workflows.mjs", "sms-sandbox.mjs"]) {
      ok(
        await run(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(join(assets, "examples", "demo", mod))})`], dirs.authoring, env),
        `import the demo's ${mod}`,
      );
    }
    for (const example of ["echo-ts", "echo-python"]) {
      const r = ok(
        await nexo(["plugin", "test", join(assets, "examples", example), "--only", "initialize-result,echo-publish", "--time-scale", "3"], dirs.authoring),
        `the demo's ${example}`,
      );
      assert.match(r.stdout, /2 passed, 0 failed/);
    }

    const deployed: Record<string, string> = {};
    for (const lang of LANGS) {
      const id = `echo_${lang}`;
      const created = ok(await nexo(["plugin", "new", id, "--lang", lang, "--dir", join("plugins", id)], dirs.authoring), `nexo plugin new --lang ${lang}`);
      assert.match(created.stdout, new RegExp(`created ${lang} plugin ${id}`));
      if (lang !== "php") assert.match(created.stderr, /^\$ (npm install|python3 -m venv|cargo build)/m, "long steps print progress");
      const dir = join(dirs.authoring, "plugins", id);
      const tested = ok(await nexo(["plugin", "test", dir, "--time-scale", "3"], dirs.authoring), `nexo plugin test (${lang})`);
      assert.match(tested.stdout.trimEnd().split("\n").at(-1) ?? "", /^\d+ passed, 0 failed$/);
      deployed[id] = await deployPlugin(lang, dir, nexo, join(work, "packs"), join(work, "installed"));
    }

    const pluginPaths = [...new Set(Object.values(deployed).map((d) => join(d, "..")))];
    writeFileSync(
      join(dirs.daemon, "nexo.yaml"),
      [
        `api: { enabled: false }`,
        `plugin_paths: [${pluginPaths.map((p) => JSON.stringify(p)).join(", ")}]`,
        "plugins:",
        ...Object.keys(deployed).map((id) => `  ${id}: {}`),
        "",
      ].join("\n"),
    );
    const daemon = spawn("nexo", ["run"], { cwd: dirs.daemon, env });
    let daemonLog = "";
    daemon.stdout.on("data", (d) => (daemonLog += d));
    daemon.stderr.on("data", (d) => (daemonLog += d));
    const exited = new Promise((r) => daemon.once("close", r));
    t.after(async () => {
      if (daemon.exitCode === null) {
        daemon.kill("SIGTERM");
        await exited;
      }
    });
    await waitWith(
      async () => {
        const list = await nexo(["plugin", "list", "--json"], dirs.daemon);
        if (list.code !== 0) return false;
        const rows = JSON.parse(list.stdout) as Array<{ key: string; state: string }>;
        return rows.length === LANGS.length && rows.every((r) => r.state === "ready");
      },
      "four plugins ready",
      () => daemonLog,
      60_000,
      // Each poll is an installed `nexo` process (the user's view): a node start each.
      1000,
    );

    const tail = spawn("nexo", ["tail", "plugin.inbound.>", "--count", String(LANGS.length)], { cwd: dirs.daemon, env });
    let tailed = "";
    let tailErr = "";
    tail.stdout.on("data", (d) => (tailed += d));
    const tailDone = new Promise((r) => tail.once("close", r));
    t.after(() => void tail.kill());
    await new Promise<void>((resolve, reject) => {
      tail.stderr.on("data", (d) => {
        tailErr += d;
        if (tailErr.includes("tailing")) resolve();
      });
      void tailDone.then(() => reject(new Error(`nexo tail ended early: ${tailErr}`)));
    });
    for (const id of Object.keys(deployed)) ok(await nexo(["publish", `plugin.outbound.${id}`, JSON.stringify({ text: `hi ${id}` })], dirs.daemon), `publish to ${id}`);
    await waitWith(
      () => tailed.trim().split("\n").filter(Boolean).length >= LANGS.length,
      "an echo from each plugin",
      () => `${tailed}\n${daemonLog}`,
      30_000,
    );
    const echoes = tailed
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { topic: string; payload: { text: string } });
    assert.deepEqual(
      echoes.map((e) => [e.topic, e.payload.text]).sort(),
      Object.keys(deployed)
        .map((id) => [`plugin.inbound.${id}`, `hi ${id}`])
        .sort(),
    );

    // Nothing generated or installed may point back into the checkout, and no plugin into the nexo install.
    const needle = Buffer.from(REPO.replace(/\/$/, ""));
    const offenders = [prefix, dirs.authoring, dirs.daemon, join(work, "installed")].flatMap(filesUnder).filter((f) => readFileSync(f).includes(needle));
    assert.deepEqual(offenders, [], `files naming the checkout ${REPO}`);
    const installPath = Buffer.from(prefix);
    assert.deepEqual(
      [dirs.authoring, join(work, "installed")].flatMap(filesUnder).filter((f) => readFileSync(f).includes(installPath)),
      [],
      `plugin files naming the nexo install ${prefix}`,
    );
  },
);

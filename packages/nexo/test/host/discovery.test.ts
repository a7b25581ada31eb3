import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { normalizeConfig } from "../../src/config/index.js";
import { runConformance } from "../../src/conformance/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes } from "../../src/errors.js";
import { discoverPlugins } from "../../src/host/index.js";
import { loadPluginManifest, ManifestError } from "../../src/manifest/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";

const UPSTREAM_SCRIPT = fileURLToPath(new URL("../fixtures/plugins/upstream-plugin.mjs", import.meta.url));

function manifestFor(id: string, extra = ""): string {
  return `manifest_version = 2\n[plugin]\nid = "${id}"\nversion = "0.4.0"\nname = "${id}"\ndescription = "upstream-style"\nmin_nexo_version = ">=0.2.0"\n${extra}`;
}

/** An upstream-style installed plugin: `bin/<binName>` runs the fixture; `printed` is what it prints on --print-manifest. */
function binaryPlugin(root: string, dirName: string, binName: string, printed: string | null, printMode?: string): string {
  const dir = join(root, dirName);
  mkdirSync(join(dir, "bin"), { recursive: true });
  const bin = join(dir, "bin", binName);
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${UPSTREAM_SCRIPT}" "$@"\n`);
  chmodSync(bin, 0o755);
  if (printed !== null) writeFileSync(join(dir, "printed.toml"), printed);
  if (printMode) writeFileSync(join(dir, "print-mode"), printMode);
  return dir;
}

test("discovery - a plugin with only bin/<id> is asked --print-manifest and runs as that binary", async (t) => {
  const root = tempDir(t);
  const dir = binaryPlugin(root, "sweeper", "sweeper", `${manifestFor("sweeper")}[[plugin.channels.register]]\nkind = "sweeper"\nadapter = "X"\n`);
  const m = await loadPluginManifest(dir);
  assert.equal(m.id, "sweeper");
  assert.deepEqual(m.entrypoint, { command: "./bin/sweeper", args: [], env: {}, implicit: true });
  assert.equal(m.file, `${join(dir, "bin", "sweeper")} --print-manifest`);
  // Installed the upstream way, as <id>-<version>/bin/<id>:
  const versioned = binaryPlugin(root, "sweeper-0.4.0", "sweeper", manifestFor("sweeper"));
  assert.equal((await loadPluginManifest(versioned)).dir, versioned);
});

test("discovery - --print-manifest is bounded: a binary that hangs, floods, fails or names another id is refused", async (t) => {
  const root = tempDir(t);
  // Only the hanging binary meets the deadline; the others get a generous one so a loaded machine cannot change the outcome.
  const cases: Array<[string, RegExp, number]> = [
    [binaryPlugin(root, "hangs", "hangs", null, "sleep"), /did not finish within 500 ms/, 500],
    [binaryPlugin(root, "floods", "floods", null, "flood"), /printed more than 1048576 bytes/, 30_000],
    [binaryPlugin(root, "fails", "fails", null, "fail"), /exited with code 3/, 30_000],
    [binaryPlugin(root, "liar", "liar", manifestFor("someone_else")), /names plugin "someone_else" but the binary is bin\/liar/, 30_000],
  ];
  const results = await Promise.allSettled(cases.map(([dir, , timeoutMs]) => loadPluginManifest(dir, { timeoutMs })));
  results.forEach((r, i) => {
    assert.equal(r.status, "rejected", cases[i][0]);
    const err = (r as PromiseRejectedResult).reason;
    assert.ok(err instanceof ManifestError, String(err));
    assert.match(err.message, cases[i][1]);
  });
});

test("discovery - a manifest without [plugin.entrypoint] runs bin/<id>; without that file it is refused naming both", async (t) => {
  const root = tempDir(t);
  const dir = binaryPlugin(root, "tidy", "tidy", null);
  writeFileSync(join(dir, "plugin.toml"), manifestFor("tidy"));
  assert.equal((await loadPluginManifest(dir)).entrypoint.command, "./bin/tidy");
  const bare = join(root, "bare");
  mkdirSync(bare);
  writeFileSync(join(bare, "plugin.toml"), manifestFor("bare"));
  await assert.rejects(loadPluginManifest(bare), (e: unknown) => e instanceof ManifestError && /no \[plugin.entrypoint\] and no bin\/bare/.test(e.message));
});

test("discovery - hostile and broken plugin directories are reported and skipped; the good ones load", async (t) => {
  const root = tempDir(t);
  const mk = (name: string, make: (manifest: string) => void): void => {
    mkdirSync(join(root, name));
    make(join(root, name, "plugin.toml"));
  };
  mk("a_fifo", (p) => execFileSync("mkfifo", [p]));
  mk("b_zero", (p) => symlinkSync("/dev/zero", p));
  mk("c_passwd", (p) => symlinkSync("/etc/passwd", p));
  mk("d_isdir", (p) => mkdirSync(p));
  mk("e_badtoml", (p) => writeFileSync(p, "[plugin\n"));
  binaryPlugin(root, "f_hangs", "f_hangs", null, "sleep");
  binaryPlugin(root, "good", "good", null);
  writeFileSync(join(root, "good", "plugin.toml"), manifestFor("good"));
  mkdirSync(join(root, "not_a_plugin"));
  const found = await discoverPlugins([root, join(root, "missing-path")], { printManifestTimeoutMs: 300 });
  assert.deepEqual(
    found.manifests.map((m) => m.id),
    ["good"],
  );
  assert.deepEqual(found.rejected.map((r) => r.path.replace(`${root}/`, "")).sort(), ["a_fifo", "b_zero", "c_passwd", "d_isdir", "e_badtoml", "f_hangs", "missing-path"].sort());
  for (const r of found.rejected) assert.doesNotMatch(r.error.message, /root:.*:0:0:/);
});

test("discovery - the daemon starts with a FIFO, a /dev/zero symlink and an unsupported manifest beside a good plugin, logging each refusal", async (t) => {
  const root = tempDir(t);
  const plugins = join(root, "plugins");
  mkdirSync(plugins);
  mkdirSync(join(plugins, "fifo"));
  execFileSync("mkfifo", [join(plugins, "fifo", "plugin.toml")]);
  mkdirSync(join(plugins, "zero"));
  symlinkSync("/dev/zero", join(plugins, "zero", "plugin.toml"));
  binaryPlugin(plugins, "poller", "poller", null);
  writeFileSync(join(plugins, "poller", "plugin.toml"), `${manifestFor("poller")}[plugin.poller]\nkinds = ["x"]\nbroker_topic_prefix = "plugin.poller.x"\n`);
  binaryPlugin(plugins, "good", "good", null);
  writeFileSync(join(plugins, "good", "plugin.toml"), manifestFor("good"));
  const log = captureLogger("info");
  const daemon = await Daemon.start(normalizeConfig({ state_dir: join(root, "state"), api: { enabled: false }, plugin_paths: [plugins] }, null, root), {
    logger: log.logger,
    controlSocket: false,
  });
  t.after(() => daemon.stop());
  assert.equal(daemon.host.require("good").status().state, "ready");
  const refusals = log.lines().filter((l) => l.msg === "plugin refused");
  assert.deepEqual(refusals.map((l) => l.path.replace(`${plugins}/`, "")).sort(), ["fifo", "poller", "zero"]);
  assert.ok(refusals.some((l) => l.err.includes("[plugin.poller]") && l.err.includes("not supported by this host")));
  assert.equal(ErrorCodes.MANIFEST_UNSUPPORTED, "NEXO_ERR_MANIFEST_UNSUPPORTED");
});

test("discovery - nexo plugin test loads a bin/<id>-only plugin the way discovery does", async (t) => {
  const dir = binaryPlugin(tempDir(t), "printer", "printer", manifestFor("printer"));
  const report = await runConformance({ pluginDir: dir, only: ["unknown-method"] });
  assert.equal(report.plugin.id, "printer");
  assert.deepEqual(
    report.results.map((r) => r.status),
    ["pass"],
  );
});

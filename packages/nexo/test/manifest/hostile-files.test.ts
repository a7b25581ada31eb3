import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ErrorCodes } from "../../src/errors.js";
import { loadManifest, ManifestError, MAX_PLUGIN_FILE_BYTES, PluginFileError, readPluginFile } from "../../src/manifest/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { runNexo } from "../helpers/nexo-cli.js";

const GOOD = '[plugin]\nid = "ok"\nversion = "1.0.0"\n[plugin.entrypoint]\ncommand = "x"\n';
/** A line of /etc/passwd: if it ever shows up in an error, the reader echoed a file it must not read. */
const PASSWD_MARK = /root:.*:0:0:/;

function mkfifo(path: string): void {
  execFileSync("mkfifo", [path]);
}

/** A plugin dir whose manifest file is replaced by `make(path)`. */
function hostilePlugin(root: string, name: string, make: (manifestPath: string) => void): string {
  const dir = join(root, name);
  mkdirSync(dir);
  make(join(dir, "plugin.toml"));
  return dir;
}

function refused(dir: string, rule: string): ManifestError {
  try {
    loadManifest(dir);
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    assert.equal(err.code, ErrorCodes.MANIFEST_UNREADABLE, err.message);
    assert.equal(err.violations[0].rule, rule, err.message);
    assert.ok(err.message.includes(join(dir, "plugin.toml")), `names the path: ${err.message}`);
    assert.doesNotMatch(err.message, PASSWD_MARK);
    return err;
  }
  assert.fail(`${dir} was loaded`);
}

test("manifest hostile files - a FIFO manifest is refused at once, never opened for a blocking read", (t) => {
  const dir = hostilePlugin(tempDir(t), "fifo", mkfifo);
  assert.match(refused(dir, "not_regular").message, /is a FIFO, not a regular file/);
});

test("manifest hostile files - a manifest symlinked to /dev/zero or /etc/passwd leaves the plugin directory: refused without reading it", (t) => {
  const root = tempDir(t);
  assert.match(
    refused(
      hostilePlugin(root, "zero", (p) => symlinkSync("/dev/zero", p)),
      "outside_plugin",
    ).message,
    /outside the plugin directory/,
  );
  refused(
    hostilePlugin(root, "passwd", (p) => symlinkSync("/etc/passwd", p)),
    "outside_plugin",
  );
  // A symlink that stays inside, to a FIFO inside, is still not a regular file.
  const inner = hostilePlugin(root, "inner", (p) => {
    mkfifo(join(root, "inner", "pipe"));
    symlinkSync("pipe", p);
  });
  refused(inner, "not_regular");
});

test("manifest hostile files - a directory where the manifest should be is refused naming the path, not a bare EISDIR", (t) => {
  const dir = hostilePlugin(tempDir(t), "isdir", (p) => mkdirSync(p));
  const err = refused(dir, "not_regular");
  assert.match(err.message, /is a directory, not a regular file/);
  assert.doesNotMatch(err.message, /EISDIR/);
  // Given as the manifest path itself, too.
  assert.throws(
    () => loadManifest(join(dir, "plugin.toml")),
    (e: unknown) => e instanceof ManifestError && e.message.includes(join(dir, "plugin.toml")) && !e.message.includes("EISDIR"),
  );
});

test("manifest hostile files - a manifest over 1 MiB is refused without being read whole", (t) => {
  const dir = hostilePlugin(tempDir(t), "huge", (p) => writeFileSync(p, `${GOOD}${"#".repeat(MAX_PLUGIN_FILE_BYTES)}\n`));
  assert.match(refused(dir, "too_large").message, /more than the 1048576-byte limit/);
});

test("manifest hostile files - schema_path through a symlink out of the plugin, to a FIFO, or to non-JSON: refused, content never echoed", (t) => {
  const root = tempDir(t);
  const write = (name: string, setup: (dir: string) => void): string => {
    const dir = join(root, name);
    mkdirSync(join(dir, "schemas"), { recursive: true });
    setup(dir);
    writeFileSync(join(dir, "plugin.toml"), `${GOOD}[plugin.config]\nschema_path = "schemas/config.json"\n`);
    return dir;
  };
  const rule = (dir: string): string[] => {
    try {
      loadManifest(dir);
    } catch (err) {
      assert.ok(err instanceof ManifestError);
      assert.doesNotMatch(err.message, PASSWD_MARK);
      assert.doesNotMatch(err.message, /s3cr3t/);
      return err.violations.map((v) => `${v.field} ${v.rule}`);
    }
    return [];
  };
  assert.deepEqual(rule(write("passwd", (d) => symlinkSync("/etc/passwd", join(d, "schemas", "config.json")))), ["plugin.config.schema_path inside_plugin"]);
  assert.deepEqual(rule(write("zero", (d) => symlinkSync("/dev/zero", join(d, "schemas", "config.json")))), ["plugin.config.schema_path inside_plugin"]);
  assert.deepEqual(rule(write("fifo", (d) => mkfifo(join(d, "schemas", "config.json")))), ["plugin.config.schema_path regular_file"]);
  assert.deepEqual(rule(write("text", (d) => writeFileSync(join(d, "schemas", "config.json"), "password = s3cr3t\n"))), ["plugin.config.schema_path json"]);
  // A tool schema goes through the same reader.
  const tool = join(root, "tool");
  mkdirSync(tool);
  symlinkSync("/etc/passwd", join(tool, "schema.json"));
  writeFileSync(join(tool, "plugin.toml"), `${GOOD}[[plugin.tools.expose]]\nname = "t"\nschema_path = "schema.json"\n`);
  assert.deepEqual(rule(tool), ["plugin.tools.expose[0].schema_path inside_plugin"]);
});

test("manifest hostile files - readPluginFile reads a regular file inside the root and only that", (t) => {
  const root = tempDir(t);
  writeFileSync(join(root, "a.txt"), "hello");
  assert.equal(readPluginFile(join(root, "a.txt"), root), "hello");
  assert.throws(
    () => readPluginFile(join(root, "missing"), root),
    (e: unknown) => e instanceof PluginFileError && e.problem === "not_found",
  );
  assert.throws(
    () => readPluginFile(join(root, "a.txt"), root, 4),
    (e: unknown) => e instanceof PluginFileError && e.problem === "too_large",
  );
});

test("manifest hostile files - nexo manifest validate on a FIFO or a /etc/passwd symlink exits 1 with the reason, promptly", async (t) => {
  const root = tempDir(t);
  const fifo = hostilePlugin(root, "fifo", mkfifo);
  const passwd = hostilePlugin(root, "passwd", (p) => symlinkSync("/etc/passwd", p));
  const [a, b] = await Promise.all([runNexo(["manifest", "validate", fifo]), runNexo(["manifest", "validate", join(passwd, "plugin.toml")])]);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /is a FIFO, not a regular file \[not_regular\]/);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /outside the plugin directory/);
  assert.doesNotMatch(b.stderr + b.stdout, PASSWD_MARK);
});

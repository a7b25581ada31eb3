import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { test, type TestContext } from "node:test";
import { create as createTar, extract as extractTar } from "tar";
import { normalizeConfig } from "../../src/config/index.js";
import { newEvent, type Event } from "../../src/contract/index.js";
import { Daemon } from "../../src/daemon/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { installPlugin, packPlugin, uninstallPlugin } from "../../src/packaging/index.js";
import { FIXTURE_SCRIPT, tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { waitFor } from "../helpers/wait.js";

/** A self-contained plugin directory: its program travels with it (relative entrypoint). */
function writePlugin(root: string, id = "packed", version = "1.2.3"): string {
  const dir = join(root, "src-plugin");
  mkdirSync(join(dir, "lib"), { recursive: true });
  copyFileSync(FIXTURE_SCRIPT, join(dir, "lib", "plugin.mjs"));
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    [
      `[plugin]`,
      `id = "${id}"`,
      `version = "${version}"`,
      `name = "Packed"`,
      ``,
      `[plugin.entrypoint]`,
      `command = "node"`,
      `args = ["lib/plugin.mjs", "echo"]`,
      `env = { FIXTURE_KIND = "${id}" }`,
      ``,
      `[[plugin.channels.register]]`,
      `kind = "${id}"`,
      ``,
    ].join("\n"),
  );
  writeFileSync(join(dir, "README.md"), "a packed plugin\n");
  mkdirSync(join(dir, "__pycache__"));
  writeFileSync(join(dir, "__pycache__", "junk.pyc"), "x");
  return dir;
}

/** One ustar entry, written by hand so tests can build archives `tar` itself would refuse to write. */
function tarEntry(name: string, body: string, type: "0" | "2" | "5" = "0", linkname = ""): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number): void => void h.write(s.slice(0, len), off, "latin1");
  const data = Buffer.from(body);
  put(name, 0, 100);
  put("0000644\0", 100, 8);
  put("0000000\0", 108, 8);
  put("0000000\0", 116, 8);
  put(`${(type === "0" ? data.length : 0).toString(8).padStart(11, "0")}\0`, 124, 12);
  put("00000000000\0", 136, 12);
  put("        ", 148, 8);
  put(type, 156, 1);
  put(linkname, 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  if (type !== "0") return h;
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function writeTgz(file: string, entries: Buffer[]): void {
  writeFileSync(file, gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)])));
}

async function packed(t: TestContext): Promise<{ root: string; file: string; sha256: string }> {
  const root = tempDir(t);
  const r = await packPlugin(writePlugin(root), { outDir: join(root, "out") });
  return { root, file: r.file, sha256: r.sha256 };
}

test("packaging - pack writes <id>-<version>.tgz listing every file with its SHA-256, leaving caches out; packing is reproducible", async (t) => {
  const root = tempDir(t);
  const src = writePlugin(root);
  const a = await packPlugin(src, { outDir: join(root, "a") });
  const b = await packPlugin(src, { outDir: join(root, "b") });
  assert.match(a.file, /packed-1\.2\.3\.tgz$/);
  assert.equal(a.sha256, b.sha256, "same tree, same archive");
  assert.deepEqual(
    a.manifest.files.map((f) => f.path),
    ["README.md", "lib/plugin.mjs", "nexo-plugin.toml"],
  );
  writeFileSync(join(src, "README.md"), "changed\n");
  const c = await packPlugin(src, { outDir: join(root, "c") });
  assert.notEqual(c.sha256, a.sha256);
});

test("packaging - pack refuses an invalid manifest and symlinks", async (t) => {
  const root = tempDir(t);
  const src = writePlugin(root);
  symlinkSync("/etc/passwd", join(src, "leak"));
  await assert.rejects(packPlugin(src, { outDir: root }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /leak/.test(e.message));
  writeFileSync(join(src, "nexo-plugin.toml"), '[plugin]\nid = "Bad Id"\n');
  await assert.rejects(packPlugin(src, { outDir: root }), (e) => isNexoError(e) && e.code.startsWith("NEXO_ERR_MANIFEST"));
});

test("packaging - an installed pack runs under the daemon from its new home", async (t) => {
  const { root, file } = await packed(t);
  const into = join(root, "plugins");
  const r = await installPlugin(file, { into });
  assert.deepEqual([r.id, r.version, r.dir, r.replaced], ["packed", "1.2.3", join(into, "packed"), null]);
  assert.equal(existsSync(join(into, "packed", "__pycache__")), false);
  const daemon = await Daemon.start(normalizeConfig({ state_dir: join(root, "state"), api: { enabled: false }, plugin_paths: [into], plugins: { packed: {} } }, null, root), {
    logger: captureLogger().logger,
  });
  t.after(() => daemon.stop());
  assert.equal(daemon.host.require("packed").status().state, "ready");
  const got: Event[] = [];
  daemon.broker.subscribe("plugin.inbound.packed", (e) => void got.push(e));
  await daemon.broker.publish("plugin.outbound.packed", newEvent("plugin.outbound.packed", "test", { n: 1 }));
  await waitFor(() => got.length === 1, "echo from the installed plugin");
  assert.deepEqual(got[0].payload, { n: 1 });
});

test("packaging - reinstall needs --force, which swaps the directory and reports the old version; uninstall removes it", async (t) => {
  const { root, file } = await packed(t);
  const into = join(root, "plugins");
  await installPlugin(file, { into });
  await assert.rejects(installPlugin(file, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_EXISTS));
  const src2 = join(root, "v2");
  mkdirSync(src2);
  const v2 = await packPlugin(writePlugin(src2, "packed", "2.0.0"), { outDir: join(root, "out2") });
  const r = await installPlugin(v2.file, { into, force: true });
  assert.equal(r.replaced, "1.2.3");
  assert.match(readFileSync(join(into, "packed", "nexo-plugin.toml"), "utf8"), /2\.0\.0/);
  assert.equal(uninstallPlugin("packed", into), join(into, "packed"));
  assert.equal(existsSync(join(into, "packed")), false);
  assert.throws(
    () => uninstallPlugin("packed", into),
    (e) => isNexoError(e, ErrorCodes.PACKAGE_NOT_FOUND),
  );
});

test("packaging - a tampered file, an unlisted file, or a wrong archive checksum is refused and nothing is installed", async (t) => {
  const { root, file, sha256 } = await packed(t);
  const into = join(root, "plugins");
  await assert.rejects(installPlugin(file, { into, expectedSha256: "0".repeat(64) }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM));
  await installPlugin(file, { into: join(root, "ok"), expectedSha256: sha256 });

  const unpacked = join(root, "unpacked");
  mkdirSync(unpacked);
  await extractTar({ file, cwd: unpacked });
  const packedEntry = readFileSync(join(unpacked, "lib", "plugin.mjs"));
  writeFileSync(join(unpacked, "lib", "plugin.mjs"), "process.exit(1)\n");
  const tampered = join(root, "tampered.tgz");
  await createTar({ gzip: true, file: tampered, cwd: unpacked }, ["nexo-package.json", "README.md", "lib/plugin.mjs", "nexo-plugin.toml"]);
  await assert.rejects(installPlugin(tampered, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM) && /lib\/plugin\.mjs/.test(e.message));

  writeFileSync(join(unpacked, "lib", "plugin.mjs"), packedEntry);
  writeFileSync(join(unpacked, "extra.sh"), "rm -rf /\n");
  const extra = join(root, "extra.tgz");
  await createTar({ gzip: true, file: extra, cwd: unpacked }, ["nexo-package.json", "README.md", "lib/plugin.mjs", "nexo-plugin.toml", "extra.sh"]);
  await assert.rejects(installPlugin(extra, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM) && /extra\.sh/.test(e.message));
  assert.equal(existsSync(join(into, "packed")), false);
});

test("packaging - archives escaping the target, holding links, or too big are refused before anything is written outside", async (t) => {
  const root = tempDir(t);
  const into = join(root, "plugins");
  const evil = join(root, "evil.tgz");
  writeTgz(evil, [tarEntry("../escaped.txt", "owned")]);
  await assert.rejects(installPlugin(evil, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /unsafe path "\.\.\/escaped\.txt"/.test(e.message));
  assert.equal(existsSync(join(root, "escaped.txt")), false);

  const abs = join(root, "abs.tgz");
  writeTgz(abs, [tarEntry("/tmp/nexo-abs-escape.txt", "owned")]);
  await assert.rejects(installPlugin(abs, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /unsafe path/.test(e.message));
  assert.equal(existsSync("/tmp/nexo-abs-escape.txt"), false);

  const link = join(root, "link.tgz");
  writeTgz(link, [tarEntry("passwd", "", "2", "/etc/passwd")]);
  await assert.rejects(installPlugin(link, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /SymbolicLink/.test(e.message));

  const many = join(root, "many.tgz");
  writeTgz(many, [tarEntry("a", "1"), tarEntry("b", "2"), tarEntry("c", "3")]);
  await assert.rejects(installPlugin(many, { into, limits: { maxEntries: 2 } }), (e) => isNexoError(e, ErrorCodes.PACKAGE_TOO_LARGE));
  await assert.rejects(installPlugin(many, { into, limits: { maxArchiveBytes: 10 } }), (e) => isNexoError(e, ErrorCodes.PACKAGE_TOO_LARGE));

  const notTar = join(root, "junk.tgz");
  writeFileSync(notTar, "this is not a tarball");
  await assert.rejects(installPlugin(notTar, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID));
  const noPkg = join(root, "nopkg.tgz");
  writeTgz(noPkg, [tarEntry("README.md", "no manifest here\n")]);
  await assert.rejects(installPlugin(noPkg, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /no plugin manifest/.test(e.message));
  await assert.rejects(installPlugin(join(root, "missing.tgz"), { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_NOT_FOUND));
});

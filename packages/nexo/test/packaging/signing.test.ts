import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { generateSigningKey, installPlugin, loadTrustPolicy, packPlugin, sha256File, signArchive, type TrustPolicy } from "../../src/packaging/index.js";
import { FIXTURE_SCRIPT, tempDir } from "../helpers/fixture-plugins.js";
import { runNexo } from "../helpers/nexo-cli.js";

function writePlugin(root: string): string {
  const dir = join(root, "signed-src");
  mkdirSync(join(dir, "lib"), { recursive: true });
  copyFileSync(FIXTURE_SCRIPT, join(dir, "lib", "plugin.mjs"));
  writeFileSync(join(dir, "nexo-plugin.toml"), `[plugin]\nid = "signed"\nversion = "1.0.0"\n\n[plugin.entrypoint]\ncommand = "node"\nargs = ["lib/plugin.mjs", "echo"]\n`);
  return dir;
}

function trustFile(root: string, mode: string, authors: Array<[string, string]>, name = "trusted_keys.toml"): string {
  const file = join(root, name);
  writeFileSync(file, [`schema_version = "1.0"`, `default = "${mode}"`, ...authors.map(([owner, key]) => `\n[[authors]]\nowner = "${owner}"\npublic_key = "${key}"`)].join("\n"));
  return file;
}

/** A release archive signed by `alice`, and a policy trusting her in `mode`. */
async function signedRelease(t: TestContext, mode = "require"): Promise<{ root: string; file: string; policy: TrustPolicy; keys: string }> {
  const root = tempDir(t);
  const keys = join(root, "keys");
  mkdirSync(keys);
  const alice = generateSigningKey(keys, "alice");
  const r = await packPlugin(writePlugin(root), { outDir: join(root, "out"), format: "release" });
  await signArchive(r.file, alice.privateKeyFile);
  return { root, file: r.file, keys, policy: loadTrustPolicy(trustFile(root, mode, [["alice", alice.publicKey]])) };
}

test("signing - the author flow through the CLI: keygen (private key 0600), pack --format release, sign; the archive installs in require mode", async (t) => {
  const root = tempDir(t);
  const src = writePlugin(root);
  const keygen = await runNexo(["plugin", "keygen", "--name", "alice", "--out", root]);
  assert.equal(keygen.code, 0, keygen.stderr);
  assert.equal(statSync(join(root, "alice.key")).mode & 0o777, 0o600);
  const pub = readFileSync(join(root, "alice.pub"), "utf8").trim();
  assert.match(keygen.stdout, new RegExp(`public_key = "${pub.replace(/[+/]/g, "\\$&")}"`));
  assert.equal((await runNexo(["plugin", "keygen", "--name", "alice", "--out", root])).code, 1, "an existing key is never overwritten");

  const pack = await runNexo(["plugin", "pack", src, "--format", "release", "--out", join(root, "out")]);
  assert.equal(pack.code, 0, pack.stderr);
  const archive = join(root, "out", "signed-1.0.0-noarch.tar.gz");
  assert.ok(existsSync(`${archive}.sha256`));
  const sign = await runNexo(["plugin", "sign", archive, "--key", join(root, "alice.key")]);
  assert.equal(sign.code, 0, sign.stderr);
  const trusted = trustFile(root, "require", [["alice", pub]]);
  const install = await runNexo(["plugin", "install", join(root, "out"), "--into", join(root, "plugins"), "--trusted-keys", trusted]);
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stdout, /installed signed 1\.0\.0 .*signed-1\.0\.0-noarch\.tar\.gz/);
  assert.match(install.stdout, /signed by alice/);
  assert.ok(existsSync(join(root, "plugins", "signed", "bin", "signed")));
});

test("signing - a tampered archive is refused: by its .sha256, and by its signature when the .sha256 is gone or rewritten", async (t) => {
  const { root, file, policy } = await signedRelease(t);
  const bytes = readFileSync(file);
  bytes[bytes.length - 100] ^= 0xff;
  writeFileSync(file, bytes);
  const into = join(root, "plugins");
  await assert.rejects(installPlugin(file, { into, trust: policy }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM) && /\.sha256 says/.test(e.message));
  writeFileSync(`${file}.sha256`, `${await sha256File(file)}\n`); // a tamperer can rewrite the checksum, not the signature
  await assert.rejects(installPlugin(file, { into, trust: policy }), (e) => isNexoError(e, ErrorCodes.PACKAGE_SIGNATURE) && /changed after signing/.test(e.message));
  rmSync(`${file}.sha256`);
  await assert.rejects(installPlugin(file, { into, trust: policy }), (e) => isNexoError(e, ErrorCodes.PACKAGE_SIGNATURE) && /changed after signing/.test(e.message));
  // Even in warn mode a signature that does not verify is a refusal, not a warning.
  await assert.rejects(installPlugin(file, { into, trust: { ...policy, mode: "warn" } }), (e) => isNexoError(e, ErrorCodes.PACKAGE_SIGNATURE));
  assert.equal(existsSync(join(into, "signed")), false);
});

test("signing - a wrong .sha256 is refused, whatever the signature says; a malformed one too", async (t) => {
  const { root, file, policy } = await signedRelease(t);
  const into = join(root, "plugins");
  writeFileSync(`${file}.sha256`, `${"ab".repeat(32)}\n`);
  await assert.rejects(installPlugin(file, { into, trust: policy }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM));
  writeFileSync(`${file}.sha256`, "not a checksum\n");
  await assert.rejects(installPlugin(file, { into, trust: policy }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM) && /64-digit hex/.test(e.message));
  // Trust mode "ignore" skips signatures, never checksums.
  await assert.rejects(installPlugin(file, { into, trust: { ...policy, mode: "ignore" } }), (e) => isNexoError(e, ErrorCodes.PACKAGE_CHECKSUM));
  assert.equal(existsSync(join(into, "signed")), false);
});

test("signing - a signature from an untrusted key is refused in require mode and only warned about in warn mode; unsigned is refused in require mode", async (t) => {
  const { root, file, keys } = await signedRelease(t);
  const mallory = generateSigningKey(keys, "mallory");
  const bob = generateSigningKey(keys, "bob");
  await signArchive(file, mallory.privateKeyFile); // replaces alice's signature with a valid one from someone nobody trusts
  const into = join(root, "plugins");
  const requireBob = loadTrustPolicy(trustFile(root, "require", [["bob", bob.publicKey]], "bob.toml"));
  await assert.rejects(installPlugin(file, { into, trust: requireBob }), (e) => isNexoError(e, ErrorCodes.PACKAGE_UNTRUSTED) && e.message.includes(mallory.publicKey));
  const warnings: string[] = [];
  const r = await installPlugin(file, { into, trust: { ...requireBob, mode: "warn" }, onWarning: (m) => warnings.push(m) });
  assert.equal(r.signedBy, null);
  assert.ok(
    warnings.some((w) => w.includes(mallory.publicKey)),
    warnings.join("\n"),
  );

  rmSync(`${file}.sig`);
  await assert.rejects(installPlugin(file, { into: join(root, "other"), trust: requireBob }), (e) => isNexoError(e, ErrorCodes.PACKAGE_UNTRUSTED) && /not signed/.test(e.message));
});

test("signing - a signed release archive installs in require mode and names its signer", async (t) => {
  const { root, file, policy } = await signedRelease(t);
  const sums = readFileSync(`${file}.sha256`, "utf8").trim();
  writeFileSync(`${file}.sha256`, `${sums}  signed-1.0.0-noarch.tar.gz\n`);
  const r = await installPlugin(file, { into: join(root, "plugins"), trust: policy });
  assert.deepEqual([r.id, r.signedBy, r.form, r.sha256], ["signed", "alice", "listing", sums]);
});

test("signing - trusted-keys files are strict: unknown fields, bad modes, bad keys and a missing named file are errors", (t) => {
  const root = tempDir(t);
  const bad = (body: string): string => {
    const f = join(root, `bad-${Math.random().toString(36).slice(2)}.toml`);
    writeFileSync(f, body);
    return f;
  };
  const key = generateSigningKey(root, "k").publicKey;
  for (const body of [
    `mode = "require"`,
    `default = "yolo"`,
    `[[authors]]\nowner = "a"\npublic_key = "ed25519:AAAA"`,
    `[[authors]]\nowner = "a"\npublic_key = "${key}"\nidentity_regexp = ".*"`,
    `[[authors]]\npublic_key = "${key}"`,
  ]) {
    assert.throws(
      () => loadTrustPolicy(bad(body)),
      (e) => isNexoError(e, ErrorCodes.PACKAGE_TRUST_CONFIG),
      body,
    );
  }
  assert.throws(
    () => loadTrustPolicy(join(root, "missing.toml")),
    (e) => isNexoError(e, ErrorCodes.PACKAGE_TRUST_CONFIG),
  );
  const ok = loadTrustPolicy(bad(`schema_version = "1.0"\ndefault = "require"\n[[authors]]\nowner = "a"\npublic_key = "${key}"`));
  assert.deepEqual([ok.mode, ok.authors.map((a) => a.owner)], ["require", ["a"]]);
});

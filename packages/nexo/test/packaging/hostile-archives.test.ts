import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { gzipSync } from "node:zlib";
import { ErrorCodes, isNexoError, type NexoError } from "../../src/errors.js";
import { extractArchive, installPlugin, packPlugin } from "../../src/packaging/index.js";
import { FIXTURE_SCRIPT, tempDir } from "../helpers/fixture-plugins.js";
import { END_OF_ARCHIVE, paxHeader, tarBodyOf, tarDir, tarFile, tarHeader } from "./tar-fixtures.js";

const MiB = 1 << 20;

function writePlugin(root: string, id = "hostile"): string {
  const dir = join(root, "src-plugin");
  mkdirSync(join(dir, "lib"), { recursive: true });
  copyFileSync(FIXTURE_SCRIPT, join(dir, "lib", "plugin.mjs"));
  writeFileSync(join(dir, "nexo-plugin.toml"), `[plugin]\nid = "${id}"\nversion = "1.0.0"\n\n[plugin.entrypoint]\ncommand = "node"\nargs = ["lib/plugin.mjs", "echo"]\n`);
  return dir;
}

/** A valid pack's tar stream (listing first), ready for more entries. */
async function validPackBody(t: TestContext): Promise<{ root: string; body: Buffer }> {
  const root = tempDir(t);
  const r = await packPlugin(writePlugin(root), { outDir: join(root, "out") });
  return { root, body: tarBodyOf(r.file) };
}

/** A release-form archive's entries: a manifest and `bin/<id>` at the root. */
function releaseEntries(id = "rel"): Buffer[] {
  return [
    tarFile("nexo-plugin.toml", `[plugin]\nid = "${id}"\nversion = "1.0.0"\n\n[plugin.entrypoint]\ncommand = "bin/${id}"\n`),
    tarDir("bin"),
    tarFile(`bin/${id}`, "#!/bin/sh\nexit 0\n", 0o755),
  ];
}

function decompressedAt(err: unknown): number {
  return ((err as NexoError).details.data as { decompressedBytes: number }).decompressedBytes;
}

/** Bytes under `dir` as the filesystem counts them (`du`), so sparse tricks cannot hide anything. */
function diskUsage(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

test("hostile archives - a 10 MB .tgz declaring a 10 GiB entry is refused at its header: memory stays flat, almost nothing is decompressed", async (t) => {
  const root = tempDir(t);
  const file = join(root, "bomb.tgz");
  // 10 GiB of zeros as 10,240 concatenated gzip members of 1 MiB each: gunzip reads them as one stream.
  const member = gzipSync(Buffer.alloc(MiB));
  const parts = [gzipSync(tarHeader("payload.bin", { size: 10 * 1024 * MiB }))];
  for (let i = 0; i < 10_240; i += 1) parts.push(member);
  writeFileSync(file, Buffer.concat(parts));
  const rssBefore = process.memoryUsage().rss;
  const into = join(root, "plugins");
  const err = await installPlugin(file, { into }).catch((e: unknown) => e);
  assert.ok(isNexoError(err, ErrorCodes.PACKAGE_TOO_LARGE), String(err));
  assert.match((err as Error).message, /payload\.bin declares 10737418240 bytes/);
  assert.ok(decompressedAt(err) < MiB, `refused after ${decompressedAt(err)} decompressed bytes`);
  assert.ok(process.memoryUsage().rss - rssBefore < 128 * MiB, "RSS stayed bounded");
  assert.deepEqual(readdirSync(into), [], "no staging left behind");
});

test("hostile archives - a 960 MiB entry is refused before a byte of it is written; entries are bounded as they stream, never written past the limit", async (t) => {
  const { root } = await validPackBody(t);
  const into = join(root, "plugins");
  const big = join(root, "big.tgz");
  const member = gzipSync(Buffer.alloc(MiB));
  writeFileSync(
    big,
    Buffer.concat([
      gzipSync(Buffer.concat([...releaseEntries(), tarHeader("data/blob.bin", { size: 960 * MiB })])),
      ...Array.from({ length: 960 }, () => member),
      gzipSync(END_OF_ARCHIVE),
    ]),
  );
  const err = await installPlugin(big, { into }).catch((e: unknown) => e);
  assert.ok(isNexoError(err, ErrorCodes.PACKAGE_TOO_LARGE), String(err));
  assert.ok(decompressedAt(err) < MiB);
  // What reached the disk before the refusal: the manifest and bin/rel, nothing of the blob.
  const bigDest = join(root, "big-dest");
  mkdirSync(bigDest);
  await assert.rejects(extractArchive(big, bigDest, { limits: { maxUnpackedBytes: 512 * MiB, maxEntries: 50_000 } }), (e) => isNexoError(e, ErrorCodes.PACKAGE_TOO_LARGE));
  assert.ok(diskUsage(bigDest) < 64 * 1024, `${diskUsage(bigDest)} bytes on disk`);
  assert.equal(existsSync(join(bigDest, "data", "blob.bin")), false);

  // With a 16 MiB budget, a 10 MiB file fits and the next 10 MiB one is refused at its header: what is on disk stays under the budget.
  const two = join(root, "two.tgz");
  writeFileSync(two, gzipSync(Buffer.concat([...releaseEntries(), tarFile("a.bin", Buffer.alloc(10 * MiB, 1)), tarFile("b.bin", Buffer.alloc(10 * MiB, 2)), END_OF_ARCHIVE])));
  const dest = join(root, "dest");
  mkdirSync(dest);
  const err2 = await extractArchive(two, dest, { limits: { maxUnpackedBytes: 16 * MiB, maxEntries: 100 } }).catch((e: unknown) => e);
  assert.ok(isNexoError(err2, ErrorCodes.PACKAGE_TOO_LARGE), String(err2));
  assert.match((err2 as Error).message, /b\.bin declares/);
  assert.equal(existsSync(join(dest, "b.bin")), false);
  assert.ok(diskUsage(dest) <= 16 * MiB, `${diskUsage(dest)} bytes on disk`);
});

test("hostile archives - 64 MiB of zeros after the end-of-archive marker are refused within the first record of them", async (t) => {
  const { root, body } = await validPackBody(t);
  const into = join(root, "plugins");
  const padded = join(root, "padded.tgz");
  writeFileSync(padded, Buffer.concat([gzipSync(Buffer.concat([body, END_OF_ARCHIVE])), gzipSync(Buffer.alloc(64 * MiB))]));
  const err = await installPlugin(padded, { into }).catch((e: unknown) => e);
  assert.ok(isNexoError(err, ErrorCodes.PACKAGE_INVALID), String(err));
  assert.match((err as Error).message, /after the end-of-archive marker/);
  assert.ok(decompressedAt(err) < body.length + 2 * MiB, `read ${decompressedAt(err)} bytes of ${body.length + 64 * MiB}`);

  const garbage = join(root, "garbage.tgz");
  writeFileSync(garbage, gzipSync(Buffer.concat([body, END_OF_ARCHIVE, Buffer.from("#!/bin/sh\nrm -rf ~\n")])));
  await assert.rejects(installPlugin(garbage, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /not zero padding/.test(e.message));

  // A record's worth of zero padding (what GNU tar writes) is fine.
  const gnu = join(root, "gnu.tgz");
  writeFileSync(gnu, gzipSync(Buffer.concat([body, END_OF_ARCHIVE, Buffer.alloc(8 * 1024)])));
  assert.equal((await installPlugin(gnu, { into })).id, "hostile");
});

test("hostile archives - a valid pack plus 20,000 empty directories is refused at the first one; a release archive with them too", async (t) => {
  const { root, body } = await validPackBody(t);
  const into = join(root, "plugins");
  const dirs = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => tarDir(`d${i}`)));
  const file = join(root, "dirs.tgz");
  writeFileSync(file, gzipSync(Buffer.concat([body, dirs, END_OF_ARCHIVE])));
  const err = await installPlugin(file, { into }).catch((e: unknown) => e);
  assert.ok(isNexoError(err, ErrorCodes.PACKAGE_CHECKSUM), String(err));
  assert.match((err as Error).message, /directory d0 is not the parent of any file listed/);
  assert.ok(decompressedAt(err) < body.length + MiB);

  const rel = join(root, "rel-dirs.tgz");
  writeFileSync(rel, gzipSync(Buffer.concat([...releaseEntries(), dirs, END_OF_ARCHIVE])));
  await assert.rejects(installPlugin(rel, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /20000 empty directories/.test(e.message));
  // Directories count against the entry limit.
  await assert.rejects(installPlugin(rel, { into, limits: { maxEntries: 1000 } }), (e) => isNexoError(e, ErrorCodes.PACKAGE_TOO_LARGE) && /more than 1000 entries/.test(e.message));
  assert.deepEqual(readdirSync(into), []);
});

test("hostile archives - metadata that is no file (2,000 pax headers of 60 KiB) is bounded by the total decompressed size", async (t) => {
  const root = tempDir(t);
  const pax = paxHeader("comment", "x".repeat(60 * 1024));
  const file = join(root, "pax.tgz");
  writeFileSync(file, gzipSync(Buffer.concat([...Array.from({ length: 2000 }, () => pax), ...releaseEntries(), END_OF_ARCHIVE])));
  const dest = join(root, "dest");
  mkdirSync(dest);
  const err = await extractArchive(file, dest, { limits: { maxUnpackedBytes: MiB, maxEntries: 10 } }).catch((e: unknown) => e);
  assert.ok(isNexoError(err, ErrorCodes.PACKAGE_TOO_LARGE), String(err));
  assert.match((err as Error).message, /decompresses to more than/);
  assert.ok(decompressedAt(err) < 20 * MiB, `stopped at ${decompressedAt(err)} of ${2000 * 61 * 1024} bytes`);
  // The same metadata in moderation is fine.
  const few = join(root, "few.tgz");
  writeFileSync(few, gzipSync(Buffer.concat([pax, ...releaseEntries(), END_OF_ARCHIVE])));
  const ok = join(root, "ok");
  mkdirSync(ok);
  assert.equal((await extractArchive(few, ok, { limits: { maxUnpackedBytes: MiB, maxEntries: 10 } })).files.length, 2);
});

test("hostile archives - an archive cut off or corrupted in the middle of a file is refused, never left waiting for the rest", { timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  const into = join(root, "plugins");
  const gz = gzipSync(Buffer.concat([...releaseEntries(), tarFile("data.bin", randomBytes(4 * MiB)), END_OF_ARCHIVE]));
  const cut = join(root, "cut.tgz");
  writeFileSync(cut, gz.subarray(0, gz.length >> 1));
  await assert.rejects(installPlugin(cut, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /unexpected end of file/.test(e.message));
  const flipped = Buffer.from(gz);
  for (let i = gz.length >> 1; i < (gz.length >> 1) + 64; i += 1) flipped[i] ^= 0x5a;
  const corrupt = join(root, "corrupt.tgz");
  writeFileSync(corrupt, flipped);
  await assert.rejects(installPlugin(corrupt, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID));
  assert.deepEqual(readdirSync(into), []);
});

test("hostile archives - traversal, absolute paths, links, devices, FIFOs, duplicates, double compression and truncation are refused; nothing lands outside", async (t) => {
  const root = tempDir(t);
  const into = join(root, "plugins");
  const cases: Array<[string, Buffer[] | Buffer, RegExp]> = [
    ["dotdot", [tarFile("../escaped.txt", "owned")], /unsafe path "\.\.\/escaped\.txt"/],
    ["nested-dotdot", [tarFile("lib/../../escaped.txt", "owned")], /unsafe path/],
    ["absolute", [tarFile(join(root, "abs-escape.txt"), "owned")], /unsafe path/],
    ["symlink", [tarHeader("passwd", { type: "2", linkname: "/etc/passwd" })], /is a SymbolicLink/],
    ["hardlink", [tarHeader("shadow", { type: "1", linkname: "/etc/shadow" })], /is a Link/],
    ["char-device", [tarHeader("null", { type: "3" })], /is a CharacterDevice/],
    ["block-device", [tarHeader("sda", { type: "4" })], /is a BlockDevice/],
    ["fifo", [tarHeader("pipe", { type: "6" })], /is a FIFO/],
    ["duplicate-file", [...releaseEntries(), tarFile("bin/rel", "#!/bin/sh\necho replaced\n", 0o755)], /"bin\/rel" appears twice/],
    ["file-then-dir", [tarFile("x", "1"), tarDir("x")], /"x" appears twice/],
    ["dir-over-file", [tarFile("x", "1"), tarFile("x/y", "2")], /cannot create x\/y/],
    ["listing-late", [...releaseEntries(), tarFile("nexo-package.json", "{}")], /must be the archive's first entry/],
    ["truncated", [tarHeader("big", { size: 4096 }), Buffer.alloc(512, 7)], /[Tt]runcated|end-of-archive/],
  ];
  for (const [name, entries, why] of cases) {
    const file = join(root, `${name}.tgz`);
    writeFileSync(file, gzipSync(Buffer.isBuffer(entries) ? entries : Buffer.concat([...entries, ...(name === "truncated" ? [] : [END_OF_ARCHIVE])])));
    await assert.rejects(installPlugin(file, { into }), (e) => isNexoError(e) && e.code.startsWith("NEXO_ERR_PACKAGE") && why.test(e.message), name);
  }
  const twice = join(root, "twice.tgz");
  writeFileSync(twice, gzipSync(gzipSync(Buffer.concat([...releaseEntries(), END_OF_ARCHIVE]))));
  await assert.rejects(installPlugin(twice, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /compressed twice/.test(e.message));
  const junk = join(root, "junk.tgz");
  writeFileSync(junk, "this is not a tarball");
  await assert.rejects(installPlugin(junk, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID));
  const notTar = join(root, "not-tar.tgz");
  writeFileSync(notTar, gzipSync(Buffer.alloc(4096, 0x41)));
  await assert.rejects(installPlugin(notTar, { into }), (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID));

  assert.equal(existsSync(join(root, "escaped.txt")), false);
  assert.equal(existsSync(join(root, "abs-escape.txt")), false);
  assert.deepEqual(readdirSync(into), [], "every refusal cleaned its staging");
});

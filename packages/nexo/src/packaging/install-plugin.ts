import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ErrorCodes, isNexoError, NexoError } from "../errors.js";
import { loadManifest, type PluginManifest } from "../manifest/index.js";
import { entrypointPaths } from "./entrypoint-files.js";
import { extractArchive, type EntryHeader, type ExtractedFile, type ExtractLimits } from "./extract-archive.js";
import { copyAndHash } from "./hash-file.js";
import { PACKAGE_MANIFEST, parsePackageManifest, type PackageManifest } from "./package-manifest.js";
import { isValidSignature, parseSignature } from "./signing.js";
import { compatibleTargets, hostTarget, targetFromName } from "./target.js";
import type { TrustPolicy } from "./trusted-keys.js";

/** Limits an install enforces on an untrusted archive. */
export interface InstallLimits extends ExtractLimits {
  /** Largest archive file accepted, in bytes. Default 256 MiB. */
  maxArchiveBytes: number;
}

/** Defaults: 256 MiB archive, 512 MiB unpacked, 50,000 entries (files and directories). */
export const DEFAULT_INSTALL_LIMITS: InstallLimits = { maxArchiveBytes: 256 << 20, maxUnpackedBytes: 512 << 20, maxEntries: 50_000 };

const MAX_LISTING_BYTES = 32 << 20;

export interface InstallPluginOptions {
  /** Plugin directory to install into (one of the daemon's plugin_paths); created if missing. */
  into: string;
  /** Replace an installed plugin with the same id. Default false. */
  force?: boolean;
  /** Refuse the archive unless its SHA-256 is this (hex). A `<archive>.sha256` beside it is checked too. */
  expectedSha256?: string;
  /** Signature policy. Default: warn mode, nobody trusted (a present signature is still checked). */
  trust?: TrustPolicy;
  /** Target triple this host runs. Default `hostTarget()`. */
  target?: string;
  /** Receives warnings (unsigned archive in warn mode, signer not trusted). Default: dropped. */
  onWarning?: (message: string) => void;
  limits?: Partial<InstallLimits>;
}

/** Where a plugin was installed, what it replaced, and what vouched for it. */
export interface InstallResult {
  id: string;
  version: string;
  dir: string;
  replaced: string | null;
  sha256: string;
  /** `listing` when the archive carried `nexo-package.json` (every file checked); `release` otherwise. */
  form: "listing" | "release";
  /** Owner of the trusted key that signed it, or null. */
  signedBy: string | null;
}

/**
 * Install a plugin archive into `<into>/<id>/`. Both forms are accepted: a
 * pack with `nexo-package.json` (every file listed with its SHA-256) and an
 * upstream-style release archive (`<id>-<version>-<target>.tar.gz`: manifest
 * and `bin/<id>` at the root). The archive is untrusted: it is copied
 * privately and hashed, checked against `--sha256` and a `<archive>.sha256`
 * beside it, its `<archive>.sig` verified under the trust policy, and only
 * then unpacked, streaming and bounded (see extractArchive). The manifest must
 * validate against this nexo and the entrypoint must be inside the tree. The
 * new directory replaces an old one by rename, so a failed install leaves
 * the old one as it was.
 */
export async function installPlugin(archive: string, options: InstallPluginOptions): Promise<InstallResult> {
  const limits = { ...DEFAULT_INSTALL_LIMITS, ...(options.limits ?? {}) };
  const file = resolve(archive);
  if (!existsSync(file) || !statSync(file).isFile()) throw new NexoError(ErrorCodes.PACKAGE_NOT_FOUND, `no package file at ${file}`, { file });
  const size = statSync(file).size;
  if (size > limits.maxArchiveBytes) {
    throw new NexoError(ErrorCodes.PACKAGE_TOO_LARGE, `${file} is ${size} bytes; the limit is ${limits.maxArchiveBytes}`, { file });
  }
  const into = resolve(options.into);
  mkdirSync(into, { recursive: true });
  // Staging beside the target keeps the final rename on one filesystem.
  const staging = mkdtempSync(join(into, ".nexo-install-"));
  try {
    const copy = join(staging, "archive");
    const sha256 = await copyAndHash(file, copy);
    checkChecksums(file, sha256, options.expectedSha256);
    const signedBy = checkSignature(file, sha256, options);
    const tree = join(staging, "tree");
    mkdirSync(tree, { mode: 0o755 });
    const listing = new ListingCheck(file);
    await extractArchive(copy, tree, { limits, label: file, onHeader: (h) => listing.onHeader(h), onFile: (f, abs) => listing.onFile(f, abs) });
    listing.finish();
    const manifest = checkManifest(tree, file, listing.listing);
    applyModes(tree, listing);
    checkRunnable(manifest, tree, file);
    checkTarget(file, manifest, options.target ?? hostTarget());
    const target = join(into, manifest.id);
    let replaced: string | null = null;
    if (existsSync(target)) {
      if (!options.force) {
        throw new NexoError(ErrorCodes.PACKAGE_EXISTS, `plugin ${manifest.id} is already installed in ${target}; pass --force to replace it`, {
          pluginId: manifest.id,
          file: target,
        });
      }
      const old = loadManifestQuietly(target);
      replaced = old ? old.version : "unknown";
      const backup = join(staging, "old");
      renameSync(target, backup);
      try {
        renameSync(tree, target);
      } catch (err) {
        renameSync(backup, target);
        throw err;
      }
    } else {
      renameSync(tree, target);
    }
    return { id: manifest.id, version: manifest.version, dir: target, replaced, sha256, form: listing.listing ? "listing" : "release", signedBy };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `--sha256` and `<archive>.sha256` (upstream: one line, the hex digest first; `hex  name` is accepted too). */
function checkChecksums(file: string, actual: string, expected: string | undefined): void {
  if (expected !== undefined && expected.toLowerCase() !== actual) {
    throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${file} has SHA-256 ${actual}, expected ${expected}`, { file });
  }
  const side = `${file}.sha256`;
  if (!existsSync(side)) return;
  if (statSync(side).size > 4096) throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${side} is too large to be a checksum file`, { file: side });
  const claimed = readFileSync(side, "utf8").trim().split(/\s+/)[0] ?? "";
  if (!/^[0-9a-fA-F]{64}$/.test(claimed)) throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${side} does not hold a 64-digit hex SHA-256`, { file: side });
  if (claimed.toLowerCase() !== actual) {
    throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${file} has SHA-256 ${actual} but ${basename(side)} says ${claimed.toLowerCase()} (tampered or corrupt download)`, { file });
  }
}

/** Verify `<archive>.sig` under the policy; returns the trusted signer's name. */
function checkSignature(file: string, sha256: string, options: InstallPluginOptions): string | null {
  const policy = options.trust ?? { mode: "warn", authors: [], file: null };
  if (policy.mode === "ignore") return null;
  const warn = options.onWarning ?? (() => undefined);
  const sigFile = `${file}.sig`;
  const where = policy.file ?? "the trusted-keys file";
  if (!existsSync(sigFile)) {
    if (policy.mode === "require")
      throw new NexoError(ErrorCodes.PACKAGE_UNTRUSTED, `${file} is not signed (no ${basename(sigFile)}) and ${where} requires a signature from a trusted author`, { file });
    warn(`${basename(file)} is not signed; installing it anyway (trust mode warn)`);
    return null;
  }
  if (statSync(sigFile).size > 4096) throw new NexoError(ErrorCodes.PACKAGE_SIGNATURE, `${sigFile} is too large to be a signature`, { file: sigFile });
  const sig = parseSignature(readFileSync(sigFile, "utf8"), sigFile);
  // A signature that does not verify means the archive changed after signing: refused in every mode.
  if (!isValidSignature(sig, sha256, sigFile)) {
    throw new NexoError(
      ErrorCodes.PACKAGE_SIGNATURE,
      `${basename(sigFile)} does not verify for ${basename(file)}: the archive was changed after signing, or the signature is forged`,
      { file },
    );
  }
  const author = policy.authors.find((a) => a.publicKey === sig.publicKey);
  if (author) return author.owner;
  if (policy.mode === "require") {
    throw new NexoError(ErrorCodes.PACKAGE_UNTRUSTED, `${basename(file)} is signed by ${sig.publicKey}, which is not a trusted author in ${where}`, { file });
  }
  warn(`${basename(file)} is signed by ${sig.publicKey}, which is not in ${where}; installing it anyway (trust mode warn)`);
  return null;
}

/**
 * Holds an archive to its own `nexo-package.json` while it streams: the
 * listing must be the first entry; after it, only listed files (at their
 * listed size and SHA-256) and their parent directories may appear. Without
 * a listing (a release archive) every directory must still hold a file.
 */
class ListingCheck {
  listing: PackageManifest | undefined;
  private readonly listed = new Map<string, { size: number; sha256: string; executable: boolean }>();
  private readonly parents = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly dirs: string[] = [];
  readonly modes = new Map<string, boolean>();

  constructor(private readonly source: string) {}

  private refuse(why: string, code: typeof ErrorCodes.PACKAGE_CHECKSUM | typeof ErrorCodes.PACKAGE_INVALID = ErrorCodes.PACKAGE_CHECKSUM): NexoError {
    return new NexoError(code, `${this.source}: ${why}`, { file: this.source });
  }

  onHeader(h: EntryHeader): void {
    if (h.path === PACKAGE_MANIFEST) {
      if (h.index !== 0 || h.kind !== "file") throw this.refuse(`${PACKAGE_MANIFEST} must be the archive's first entry`, ErrorCodes.PACKAGE_INVALID);
      if (h.size > MAX_LISTING_BYTES) throw this.refuse(`${PACKAGE_MANIFEST} is larger than ${MAX_LISTING_BYTES} bytes`, ErrorCodes.PACKAGE_INVALID);
      return;
    }
    if (!this.listing) {
      if (h.kind === "dir") this.dirs.push(h.path);
      return;
    }
    if (h.kind === "dir") {
      if (!this.parents.has(h.path)) throw this.refuse(`directory ${h.path} is not the parent of any file listed in ${PACKAGE_MANIFEST}`);
      return;
    }
    const want = this.listed.get(h.path);
    if (!want) throw this.refuse(`${h.path} is not listed in ${PACKAGE_MANIFEST}`);
    if (want.size !== h.size) throw this.refuse(`${h.path} is ${h.size} bytes but ${PACKAGE_MANIFEST} lists ${want.size}`);
  }

  onFile(f: ExtractedFile, absolutePath: string): void {
    if (f.path === PACKAGE_MANIFEST) {
      this.listing = parsePackageManifest(readFileSync(absolutePath, "utf8"), this.source);
      for (const e of this.listing.files) {
        this.listed.set(e.path, e);
        const parts = e.path.split("/");
        for (let i = 1; i < parts.length; i += 1) this.parents.add(parts.slice(0, i).join("/"));
      }
      return;
    }
    this.modes.set(f.path, f.executable);
    if (!this.listing) return;
    this.seen.add(f.path);
    if (this.listed.get(f.path)?.sha256 !== f.sha256) throw this.refuse(`${f.path} does not match its SHA-256 (tampered or corrupt)`);
  }

  finish(): void {
    if (this.listing) {
      for (const e of this.listing.files) if (!this.seen.has(e.path)) throw this.refuse(`${e.path} is listed but missing`);
      return;
    }
    const withFiles = new Set<string>();
    for (const p of this.modes.keys()) {
      const parts = p.split("/");
      for (let i = 1; i < parts.length; i += 1) withFiles.add(parts.slice(0, i).join("/"));
    }
    const empty = this.dirs.filter((d) => !withFiles.has(d));
    if (empty.length)
      throw this.refuse(`${empty.length} empty director${empty.length === 1 ? "y" : "ies"} (e.g. ${empty[0]}); a plugin archive holds files`, ErrorCodes.PACKAGE_INVALID);
  }

  executable(path: string): boolean {
    return this.listing ? (this.listed.get(path)?.executable ?? false) : (this.modes.get(path) ?? false);
  }
}

function checkManifest(tree: string, source: string, listing: PackageManifest | undefined): PluginManifest {
  let manifest: PluginManifest;
  try {
    manifest = loadManifest(tree);
  } catch (err) {
    if (isNexoError(err, ErrorCodes.MANIFEST_NOT_FOUND)) {
      throw new NexoError(
        ErrorCodes.PACKAGE_INVALID,
        `${source}: no plugin manifest at the archive's root; a plugin archive is made by \`nexo plugin pack\` (with ${PACKAGE_MANIFEST}) or is a release archive (nexo-plugin.toml and bin/<id>)`,
        { file: source, cause: err },
      );
    }
    throw err;
  }
  if (listing && (manifest.id !== listing.id || manifest.version !== listing.version)) {
    throw new NexoError(
      ErrorCodes.PACKAGE_INVALID,
      `${source}: ${PACKAGE_MANIFEST} says ${listing.id}@${listing.version} but the plugin manifest says ${manifest.id}@${manifest.version}`,
      { file: source },
    );
  }
  return manifest;
}

function applyModes(tree: string, listing: ListingCheck): void {
  for (const p of listing.modes.keys()) chmodSync(join(tree, p), listing.executable(p) ? 0o755 : 0o644);
  if (listing.listing) chmodSync(join(tree, PACKAGE_MANIFEST), 0o644);
}

/** The entrypoint's files must be in the tree; `bin/<id>` (the release convention) is made executable like upstream does. */
function checkRunnable(manifest: PluginManifest, tree: string, source: string): void {
  const releaseBin = join(tree, "bin", manifest.id);
  if (existsSync(releaseBin) && statSync(releaseBin).isFile()) chmodSync(releaseBin, 0o755);
  for (const p of entrypointPaths(manifest)) {
    if (p.relative === null) {
      if (p.where === "command") continue; // an absolute interpreter path: the operator's machine decides
      throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `${source}: entrypoint ${p.where} ${JSON.stringify(p.written)} points outside the plugin directory`, {
        file: source,
        pluginId: manifest.id,
      });
    }
    const full = join(tree, p.relative);
    if (!existsSync(full) || !statSync(full).isFile()) {
      throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `${source}: entrypoint ${p.where} ${p.relative} is not in the archive, so the plugin cannot start`, {
        file: source,
        pluginId: manifest.id,
      });
    }
  }
}

function checkTarget(file: string, manifest: PluginManifest, host: string): void {
  const target = targetFromName(file, manifest.id, manifest.version);
  if (target === null) return;
  const ok = compatibleTargets(host);
  if (!ok.includes(target)) {
    throw new NexoError(ErrorCodes.PACKAGE_TARGET, `${basename(file)} is built for ${target}; this host runs ${ok.join(" or ")} (set NEXO_INSTALL_TARGET to override)`, {
      file,
      pluginId: manifest.id,
    });
  }
}

function loadManifestQuietly(dir: string): PluginManifest | undefined {
  try {
    return loadManifest(dir);
  } catch {
    return undefined;
  }
}

/** Remove `<from>/<id>/` if it holds plugin `id`. Throws NEXO_ERR_PACKAGE_NOT_FOUND otherwise. */
export function uninstallPlugin(id: string, from: string): string {
  const dir = join(resolve(from), id);
  const manifest = existsSync(dir) ? loadManifestQuietly(dir) : undefined;
  if (!manifest || manifest.id !== id) throw new NexoError(ErrorCodes.PACKAGE_NOT_FOUND, `no plugin ${id} installed in ${resolve(from)}`, { pluginId: id });
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

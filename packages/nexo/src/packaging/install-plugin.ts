import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { extract as extractTar, type ReadEntry } from "tar";
import { ErrorCodes, NexoError } from "../errors.js";
import { loadManifest, type PluginManifest } from "../manifest/index.js";
import { isSafeRelativePath, PACKAGE_MANIFEST, parsePackageManifest } from "./package-manifest.js";

/** Limits an install enforces on an untrusted archive. */
export interface InstallLimits {
  /** Largest `.tgz` accepted, in bytes. Default 256 MiB. */
  maxArchiveBytes: number;
  /** Largest total of unpacked file sizes, in bytes. Default 1 GiB. */
  maxUnpackedBytes: number;
  /** Most files. Default 50,000. */
  maxFiles: number;
}

const DEFAULT_LIMITS: InstallLimits = { maxArchiveBytes: 256 << 20, maxUnpackedBytes: 1 << 30, maxFiles: 50_000 };

export interface InstallPluginOptions {
  /** Plugin directory to install into (one of the daemon's plugin_paths); created if missing. */
  into: string;
  /** Replace an installed plugin with the same id. Default false. */
  force?: boolean;
  /** Refuse the archive unless its SHA-256 is this (hex). */
  expectedSha256?: string;
  limits?: Partial<InstallLimits>;
}

/** Where a plugin was installed, and what it replaced. */
export interface InstallResult {
  id: string;
  version: string;
  dir: string;
  replaced: string | null;
}

/**
 * Install a pack made by `nexo plugin pack` into `<into>/<id>/`. The archive
 * is untrusted: only regular files and directories are extracted, paths must
 * stay inside the target, sizes and counts are bounded, every file must match
 * its SHA-256 in `nexo-package.json` and nothing unlisted may be present, and
 * the plugin manifest must validate against this nexo. The new directory
 * replaces an old one by rename, so a failed install leaves the old one as it was.
 */
export async function installPlugin(archive: string, options: InstallPluginOptions): Promise<InstallResult> {
  const limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  const file = resolve(archive);
  if (!existsSync(file) || !statSync(file).isFile()) throw new NexoError(ErrorCodes.PACKAGE_NOT_FOUND, `no package file at ${file}`, { file });
  const size = statSync(file).size;
  if (size > limits.maxArchiveBytes) {
    throw new NexoError(ErrorCodes.PACKAGE_TOO_LARGE, `${file} is ${size} bytes; the limit is ${limits.maxArchiveBytes}`, { file });
  }
  const archiveSha = createHash("sha256").update(readFileSync(file)).digest("hex");
  if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== archiveSha) {
    throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${file} has SHA-256 ${archiveSha}, expected ${options.expectedSha256}`, { file });
  }
  const into = resolve(options.into);
  mkdirSync(into, { recursive: true });
  // Unpack beside the target so the final rename stays on one filesystem.
  const staging = mkdtempSync(join(into, ".nexo-install-"));
  try {
    await unpack(file, staging, limits);
    const manifest = verify(staging, file);
    chmodSync(staging, 0o755); // mkdtemp made it 0700
    const target = join(into, manifest.id);
    let replaced: string | null = null;
    if (existsSync(target)) {
      if (!options.force) {
        throw new NexoError(ErrorCodes.PACKAGE_EXISTS, `plugin ${manifest.id} is already installed in ${target}; pass --force to replace it`, { pluginId: manifest.id, file: target });
      }
      const old = loadManifestQuietly(target);
      replaced = old ? old.version : "unknown";
      const backup = `${staging}.old`;
      renameSync(target, backup);
      try {
        renameSync(staging, target);
      } catch (err) {
        renameSync(backup, target);
        throw err;
      }
      rmSync(backup, { recursive: true, force: true });
    } else {
      renameSync(staging, target);
    }
    return { id: manifest.id, version: manifest.version, dir: target, replaced };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function unpack(file: string, dest: string, limits: InstallLimits): Promise<void> {
  let files = 0;
  let bytes = 0;
  let refusal: NexoError | undefined;
  const refuse = (err: NexoError): false => {
    refusal ??= err;
    return false;
  };
  await extractTar({
    file,
    cwd: dest,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    noMtime: true,
    // Entries are checked before anything is written; the first refusal fails the install.
    filter: (path: string, entry: ReadEntry | import("node:fs").Stats) => {
      const e = entry as ReadEntry;
      const clean = path.replace(/^\.\//, "").replace(/\/$/, "");
      if (e.type === "Directory") return isSafeRelativePath(clean) || refuse(new NexoError(ErrorCodes.PACKAGE_INVALID, `${file}: unsafe path ${JSON.stringify(path)}`, { file }));
      if (e.type !== "File" && e.type !== "OldFile") {
        return refuse(new NexoError(ErrorCodes.PACKAGE_INVALID, `${file}: entry ${JSON.stringify(path)} is a ${e.type}; packs hold only regular files`, { file }));
      }
      if (!isSafeRelativePath(clean)) return refuse(new NexoError(ErrorCodes.PACKAGE_INVALID, `${file}: unsafe path ${JSON.stringify(path)}`, { file }));
      files += 1;
      bytes += e.size ?? 0;
      if (files > limits.maxFiles) return refuse(new NexoError(ErrorCodes.PACKAGE_TOO_LARGE, `${file}: more than ${limits.maxFiles} files`, { file }));
      if (bytes > limits.maxUnpackedBytes) return refuse(new NexoError(ErrorCodes.PACKAGE_TOO_LARGE, `${file}: unpacks to more than ${limits.maxUnpackedBytes} bytes`, { file }));
      return true;
    },
  }).catch((err: unknown) => {
    throw refusal ?? new NexoError(ErrorCodes.PACKAGE_INVALID, `${file}: not a valid .tgz: ${(err as Error).message}`, { file, cause: err });
  });
  if (refusal) throw refusal;
}

/** Check the unpacked tree against `nexo-package.json` and the plugin manifest. */
function verify(dir: string, source: string): PluginManifest {
  const pkgPath = join(dir, PACKAGE_MANIFEST);
  if (!existsSync(pkgPath)) throw new NexoError(ErrorCodes.PACKAGE_INVALID, `${source}: no ${PACKAGE_MANIFEST}; was it made by \`nexo plugin pack\`?`, { file: source });
  const pkg = parsePackageManifest(readFileSync(pkgPath, "utf8"), source);
  const listed = new Set(pkg.files.map((f) => f.path));
  for (const rel of walk(dir)) {
    if (rel !== PACKAGE_MANIFEST && !listed.has(rel)) throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${source}: ${rel} is not listed in ${PACKAGE_MANIFEST}`, { file: source });
  }
  for (const f of pkg.files) {
    const full = join(dir, f.path);
    if (!existsSync(full)) throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${source}: ${f.path} is listed but missing`, { file: source });
    const sum = createHash("sha256").update(readFileSync(full)).digest("hex");
    if (sum !== f.sha256) throw new NexoError(ErrorCodes.PACKAGE_CHECKSUM, `${source}: ${f.path} does not match its SHA-256 (tampered or corrupt)`, { file: source });
    chmodSync(full, f.executable ? 0o755 : 0o644);
  }
  const manifest = loadManifest(dir);
  if (manifest.id !== pkg.id || manifest.version !== pkg.version) {
    throw new NexoError(ErrorCodes.PACKAGE_INVALID, `${source}: ${PACKAGE_MANIFEST} says ${pkg.id}@${pkg.version} but the plugin manifest says ${manifest.id}@${manifest.version}`, { file: source });
  }
  return manifest;
}

function walk(root: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(root, rel)).isDirectory()) out.push(...walk(root, rel));
    else out.push(rel);
  }
  return out;
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

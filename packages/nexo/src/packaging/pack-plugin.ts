import { createHash } from "node:crypto";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, type Stats } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve, sep } from "node:path";
import { create as createTar } from "tar";
import { ErrorCodes, NexoError } from "../errors.js";
import { loadManifest } from "../manifest/index.js";
import { NEXO_VERSION } from "../version.js";
import { PACKAGE_FORMAT, PACKAGE_MANIFEST, type PackagedFile, type PackageManifest } from "./package-manifest.js";

/** Left out of every pack: VCS data, caches, local state, build noise. */
const ALWAYS_EXCLUDED = new Set([".git", ".hg", ".svn", "__pycache__", ".nexo-state", ".DS_Store", ".pytest_cache", ".mypy_cache", "target"]);
const EXCLUDED_SUFFIXES = [".pyc", ".pyo", ".tgz"];

export interface PackPluginOptions {
  /** Where the `.tgz` goes. Default: the current directory. */
  outDir?: string;
  /** Include `node_modules` (symlinks inside it are followed and copied). Default false. */
  withNodeModules?: boolean;
}

/** What `packPlugin` produced. */
export interface PackResult {
  file: string;
  sha256: string;
  manifest: PackageManifest;
}

/**
 * Pack a plugin directory into `<id>-<version>.tgz`: the manifest is validated
 * first, files are listed with their SHA-256 in `nexo-package.json`, and the
 * archive is reproducible (sorted entries, fixed mtime, no owner), so the
 * same tree always gives the same checksum. Symlinks outside `node_modules`
 * are refused: an installed plugin must not point outside its directory.
 */
export async function packPlugin(dir: string, options: PackPluginOptions = {}): Promise<PackResult> {
  const root = resolve(dir);
  const manifest = loadManifest(root);
  const files = collectFiles(root, options.withNodeModules ?? false);
  const staging = mkdtempSync(join(tmpdir(), "nexo-pack-"));
  try {
    const entries: PackagedFile[] = [];
    for (const rel of files) {
      const src = join(root, rel);
      const st = statSync(src);
      const content = readFileSync(src);
      const dest = join(staging, rel);
      mkdirSync(resolve(dest, ".."), { recursive: true });
      copyFileSync(src, dest);
      entries.push({ path: rel, size: st.size, sha256: sha256(content), executable: (st.mode & 0o111) !== 0 });
    }
    const pkg: PackageManifest = { format: PACKAGE_FORMAT, id: manifest.id, version: manifest.version, packedBy: NEXO_VERSION, files: entries };
    writeFileSync(join(staging, PACKAGE_MANIFEST), `${JSON.stringify(pkg, null, 2)}\n`);
    const outDir = resolve(options.outDir ?? ".");
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${manifest.id}-${manifest.version}.tgz`);
    await createTar({ gzip: { level: 9 }, file, cwd: staging, portable: true, mtime: new Date(0), noDirRecurse: true }, [PACKAGE_MANIFEST, ...files]);
    return { file, sha256: sha256(readFileSync(file)), manifest: pkg };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Every regular file under `root` that goes into the pack, as sorted POSIX paths. */
function collectFiles(root: string, withNodeModules: boolean): string[] {
  const out: string[] = [];
  const links: string[] = [];
  const walk = (dir: string, inNodeModules: boolean): void => {
    for (const name of readdirSync(dir).sort()) {
      if (ALWAYS_EXCLUDED.has(name) || EXCLUDED_SUFFIXES.some((s) => name.endsWith(s))) continue;
      if (name === "node_modules" && !withNodeModules) continue;
      const full = join(dir, name);
      const inside = inNodeModules || name === "node_modules";
      let st: Stats = lstatSync(full);
      if (st.isSymbolicLink()) {
        if (!inside) {
          links.push(relative(root, full));
          continue;
        }
        st = statSync(full); // workspace links in node_modules become real copies
      }
      if (st.isDirectory()) walk(full, inside);
      else if (st.isFile()) out.push(relative(root, full).split(sep).join("/"));
    }
  };
  walk(root, false);
  if (links.length) {
    throw new NexoError(ErrorCodes.PACKAGE_INVALID, `${basename(root)}: symlinks cannot be packed (${links.join(", ")}); copy the files in or remove the links`, { file: root });
  }
  return out;
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

import { lstatSync, readdirSync, statSync, type Stats } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";

/** Left out of every pack: VCS data, caches, local state, virtualenvs, build output, installed dependencies (packed their own way). */
export const ALWAYS_EXCLUDED = new Set([
  ".git",
  ".hg",
  ".svn",
  "__pycache__",
  ".nexo-state",
  ".DS_Store",
  ".pytest_cache",
  ".mypy_cache",
  ".ruff_cache",
  ".venv",
  "venv",
  ".tox",
  "target",
  "node_modules",
]);
const EXCLUDED_SUFFIXES = [".pyc", ".pyo", ".tgz", ".tar.gz", ".tar.gz.sha256", ".tar.gz.sig", ".tgz.sig"];

export interface CollectOptions {
  /** Top-level directories whose symlinks are followed and copied (a Composer `vendor/` with path repositories). */
  followLinksUnder?: string[];
  /** Extra names to leave out. */
  exclude?: string[];
}

/**
 * Every regular file under `root` that belongs in a pack, as sorted POSIX
 * paths. Symlinks are refused (an installed plugin must not point outside its
 * directory) except under `followLinksUnder`, where they become copies.
 */
export function collectFiles(root: string, options: CollectOptions = {}): string[] {
  const follow = new Set(options.followLinksUnder ?? []);
  const exclude = new Set([...ALWAYS_EXCLUDED, ...(options.exclude ?? [])]);
  const out: string[] = [];
  const links: string[] = [];
  const walk = (dir: string, following: boolean, depth: number): void => {
    if (depth > 64) throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `${dir}: directories nest more than 64 deep (a symlink loop?)`, { file: dir });
    for (const name of readdirSync(dir).sort()) {
      if (exclude.has(name) || EXCLUDED_SUFFIXES.some((s) => name.endsWith(s))) continue;
      const full = join(dir, name);
      const inside = following || (dir === root && follow.has(name));
      let st: Stats = lstatSync(full);
      if (st.isSymbolicLink()) {
        if (!inside) {
          links.push(relative(root, full));
          continue;
        }
        st = statSync(full);
      }
      if (st.isDirectory()) walk(full, inside, depth + 1);
      else if (st.isFile()) out.push(relative(root, full).split(sep).join("/"));
    }
  };
  walk(root, false, 0);
  if (links.length) {
    throw new NexoError(ErrorCodes.PACKAGE_INVALID, `${basename(root)}: symlinks cannot be packed (${links.join(", ")}); copy the files in or remove the links`, { file: root });
  }
  return out;
}

/** Every regular file under `dir` (following symlinks), relative POSIX paths, skipping `skip` names at any depth. */
export function listTree(dir: string, skip: Set<string>): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 64) return;
    for (const name of readdirSync(d).sort()) {
      if (skip.has(name)) continue;
      const full = join(d, name);
      const st = statSync(full, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(full, depth + 1);
      else if (st.isFile()) out.push(relative(dir, full).split(sep).join("/"));
    }
  };
  walk(dir, 0);
  return out;
}

import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";

/** One installed package to copy into the pack: where it goes and where it really is. */
export interface PackedDependency {
  /** POSIX directory in the pack, e.g. `node_modules/smol-toml` or `node_modules/a/node_modules/b`. */
  at: string;
  /** Real directory on disk (symlinks resolved). */
  from: string;
}

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readPackageJson(dir: string): PackageJson {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
  } catch {
    return {};
  }
}

/** Node's lookup of package `name` from `fromDir`: `node_modules/<name>` there, then in each parent directory. */
function resolvePackageDir(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) return null;
  }
}

/**
 * The plugin's run-time dependency tree (dependencies, optional and peer
 * dependencies, never devDependencies), resolved the way Node resolves them
 * from the plugin directory, so hoisted packages and workspace links are
 * found wherever they live. Laid out npm-style in the pack: a package at the
 * top-level `node_modules/` unless another version already holds that name,
 * then nested under the package that needs it, so Node finds the same
 * versions from the pack. A required dependency that is not installed refuses the pack.
 */
export function resolveNodeDependencies(root: string): PackedDependency[] {
  const placed = new Map<string, string>(); // pack dir -> real dir
  const out: PackedDependency[] = [];
  // Each queue item: a package (its real dir, where it sits in the pack) whose deps to place.
  const queue: Array<{ real: string; at: string }> = [{ real: realpathSync(root), at: "" }];
  const visited = new Set<string>();
  while (queue.length) {
    const { real, at } = queue.shift()!;
    const key = `${real}\0${at}`;
    if (visited.has(key)) continue;
    visited.add(key);
    const pkg = readPackageJson(real);
    const wanted: Array<[string, boolean]> = [
      ...Object.keys(pkg.dependencies ?? {}).map((n): [string, boolean] => [n, true]),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n): [string, boolean] => [n, false]),
      ...Object.keys(pkg.peerDependencies ?? {}).map((n): [string, boolean] => [n, false]),
    ];
    for (const [name, required] of wanted) {
      const found = resolvePackageDir(name, real);
      if (!found) {
        if (!required) continue;
        throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `dependency ${name} of ${pkg.name ?? real} is not installed; run npm install in the plugin first`, { file: real });
      }
      const top = `node_modules/${name}`;
      const nested = `${at ? `${at}/` : ""}node_modules/${name}`;
      // What Node would find from `at` inside the pack: the nearest node_modules/<name> walking up.
      let visible: string | undefined;
      for (let dir = at; ; dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : "") {
        const probe = `${dir ? `${dir}/` : ""}node_modules/${name}`;
        if (placed.has(probe)) {
          visible = probe;
          break;
        }
        if (dir === "") break;
      }
      if (visible && placed.get(visible) === found) continue;
      const target = !visible && !placed.has(top) ? top : nested;
      if (placed.has(target)) {
        if (placed.get(target) !== found) throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `cannot lay out ${name}: two versions need ${target}`, { file: found });
        continue;
      }
      placed.set(target, found);
      out.push({ at: target, from: found });
      queue.push({ real: found, at: target });
    }
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * The files of an installed package worth shipping: what its `files` field
 * names (plain paths, and negations of one extension under a directory, as
 * in `!dist/` plus `**` plus `/*.tsbuildinfo`; any other glob falls back to
 * everything) plus `package.json`,
 * readme, license and changelog, as npm publishes them. A workspace link
 * would otherwise drag in its sources, tests and dev dependencies.
 */
export function packageFiles(dir: string, all: string[]): string[] {
  let files: unknown;
  try {
    files = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { files?: unknown }).files;
  } catch {
    return all;
  }
  if (!Array.isArray(files) || files.some((f) => typeof f !== "string")) return all;
  const positives = (files as string[]).filter((f) => !f.startsWith("!"));
  if (positives.some((f) => /[*?[\]{}]/.test(f))) return all;
  // Negations are honoured in the form packages use them (one extension under a directory, or anywhere);
  // any other pattern ships everything rather than risk leaving a needed file out.
  const excluded: Array<(rel: string) => boolean> = [];
  for (const neg of (files as string[]).filter((f) => f.startsWith("!"))) {
    const m = /^!(?:\.\/)?(?:(.+?)\/)?\*\*\/\*(\.[A-Za-z0-9._-]+)$/.exec(neg);
    if (!m || (m[1] !== undefined && /[*?[\]{}]/.test(m[1]))) return all;
    const [, base, ext] = m;
    excluded.push((rel) => rel.endsWith(ext) && (base === undefined || rel.startsWith(`${base}/`)));
  }
  const roots = positives.map((f) => f.replace(/^\.\//, "").replace(/\/+$/, ""));
  return all.filter(
    (rel) => (/^(package\.json|readme|license|licence|changelog)/i.test(rel) || roots.some((r) => rel === r || rel.startsWith(`${r}/`))) && !excluded.some((x) => x(rel)),
  );
}

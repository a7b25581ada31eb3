import { lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { findManifestFile, findPluginBinary, loadPluginManifest, type LoadManifestOptions, type PluginManifest } from "../manifest/index.js";

/** What discovery found: valid manifests, and the directories whose manifest was refused (with why). */
export interface DiscoveryResult {
  manifests: PluginManifest[];
  rejected: Array<{ path: string; error: Error }>;
}

/** Options of `discoverPlugins`. */
export interface DiscoveryOptions extends LoadManifestOptions {
  /** Deadline of each `bin/<id> --print-manifest`. Default 5000 ms. */
  printManifestTimeoutMs?: number;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Has `dir` a manifest file, or a `bin/` binary that can print one? */
function looksLikePlugin(dir: string): boolean {
  if (findManifestFile(dir)) return true;
  try {
    if (!lstatSync(join(dir, "bin")).isDirectory()) return false;
  } catch {
    return false;
  }
  return findPluginBinary(dir) !== null;
}

/**
 * Find plugins: every immediate subdirectory of each search path that holds a
 * `plugin.toml` or `nexo-plugin.toml`, or (upstream's installed layout) no
 * manifest but a `bin/<id>` that prints one on `--print-manifest`. Manifests
 * are read only as bounded regular files inside their plugin directory. A bad
 * plugin directory is reported in `rejected`, never fatal, so one broken
 * plugin cannot keep the daemon from starting. Binaries are asked concurrently.
 */
export async function discoverPlugins(searchPaths: readonly string[], options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const result: DiscoveryResult = { manifests: [], rejected: [] };
  const dirs: string[] = [];
  for (const root of searchPaths) {
    let entries: string[];
    try {
      entries = readdirSync(root).sort();
    } catch (error) {
      result.rejected.push({ path: root, error: error as Error });
      continue;
    }
    for (const name of entries) {
      const dir = join(root, name);
      if (isDirectory(dir) && looksLikePlugin(dir)) dirs.push(dir);
    }
  }
  const loadOptions = {
    ...(options.nexoVersion ? { nexoVersion: options.nexoVersion } : {}),
    ...(options.printManifestTimeoutMs ? { timeoutMs: options.printManifestTimeoutMs } : {}),
  };
  const loaded = await Promise.allSettled(dirs.map((dir) => loadPluginManifest(dir, loadOptions)));
  loaded.forEach((r, i) => {
    if (r.status === "fulfilled") result.manifests.push(r.value);
    else result.rejected.push({ path: dirs[i], error: r.reason instanceof Error ? r.reason : new Error(String(r.reason)) });
  });
  return result;
}

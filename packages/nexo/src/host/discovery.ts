import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { findManifestFile, loadManifest, type PluginManifest } from "../manifest/index.js";

/** What discovery found: valid manifests, and the directories whose manifest was refused (with why). */
export interface DiscoveryResult {
  manifests: PluginManifest[];
  rejected: Array<{ path: string; error: Error }>;
}

/**
 * Find plugins: every immediate subdirectory of each search path that holds a
 * `plugin.toml` or `nexo-plugin.toml`. A bad manifest is reported, never fatal,
 * so one broken plugin cannot keep the daemon from starting.
 */
export function discoverPlugins(searchPaths: readonly string[], nexoVersion: string): DiscoveryResult {
  const result: DiscoveryResult = { manifests: [], rejected: [] };
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
      try {
        if (!statSync(dir).isDirectory()) continue;
      } catch {
        continue;
      }
      if (!findManifestFile(dir)) continue;
      try {
        result.manifests.push(loadManifest(dir, { nexoVersion }));
      } catch (error) {
        result.rejected.push({ path: dir, error: error as Error });
      }
    }
  }
  return result;
}

import type { PluginInstanceConfig } from "../config/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { PluginSpec } from "../host/index.js";
import type { PluginManifest } from "../manifest/index.js";
import { ownProperty } from "../util/index.js";

/**
 * Turn discovered manifests plus the operator's `plugins:` section into the
 * specs to run: one per instance, disabled ones left out, `<name>_env`
 * secrets resolved from the daemon's environment (their values never logged).
 * `configured === null` (no `plugins:` section) runs every discovered plugin;
 * otherwise only the listed ones run and the rest are reported in `skipped`.
 */
export function buildPluginSpecs(
  manifests: readonly PluginManifest[],
  configured: Readonly<Record<string, PluginInstanceConfig[]>> | null,
  env: NodeJS.ProcessEnv = process.env,
): { specs: PluginSpec[]; errors: NexoError[]; skipped: string[] } {
  const specs: PluginSpec[] = [];
  const errors: NexoError[] = [];
  const skipped: string[] = [];
  const known = new Set(manifests.map((m) => m.id));
  for (const id of Object.keys(configured ?? {})) {
    if (!known.has(id)) {
      errors.push(new NexoError(ErrorCodes.CONFIG_INVALID, `plugins.${id}: no plugin with id "${id}" was found in plugin_paths`, { pluginId: id, field: `plugins.${id}` }));
    }
  }
  for (const manifest of manifests) {
    // A plugin may be called "constructor".
    const listed = configured === null ? undefined : ownProperty(configured, manifest.id);
    if (configured !== null && listed === undefined) {
      skipped.push(manifest.id);
      continue;
    }
    const entries = listed ?? [{ enabled: true, env: {}, envFrom: {} }];
    for (const entry of entries) {
      if (!entry.enabled) {
        skipped.push(entry.instance ? `${manifest.id}.${entry.instance}` : manifest.id);
        continue;
      }
      const resolved: Record<string, string> = { ...entry.env };
      let missing = false;
      for (const [target, varName] of Object.entries(entry.envFrom)) {
        const value = env[varName];
        if (value === undefined) {
          missing = true;
          errors.push(
            new NexoError(
              ErrorCodes.CONFIG_INVALID,
              `plugin ${manifest.id}${entry.instance ? `.${entry.instance}` : ""}: environment variable ${varName} (for ${target}) is not set`,
              {
                pluginId: manifest.id,
              },
            ),
          );
        } else {
          resolved[target] = value;
        }
      }
      if (missing) continue;
      specs.push({
        manifest,
        ...(entry.instance ? { instance: entry.instance } : {}),
        ...(entry.config !== undefined ? { config: entry.config } : {}),
        env: resolved,
        ...(entry.limits ? { limits: entry.limits } : {}),
        ...(entry.grants ? { grants: entry.grants } : {}),
      });
    }
  }
  return { specs, errors, skipped };
}

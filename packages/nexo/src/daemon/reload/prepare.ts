import type { Nexo } from "../../app/index.js";
import { parseBindings } from "../../bindings/index.js";
import type { NexoConfig } from "../../config/index.js";
import { ErrorCodes, isNexoError, NexoError, violationLine, type Violation } from "../../errors.js";
import { discoverPlugins, pluginKey } from "../../host/index.js";
import { checkPluginConfig } from "../../host/index.js";
import { buildPluginSpecs } from "../plugin-specs.js";
import type { ReloadState } from "./plan.js";

/**
 * Everything a config must pass before a reload touches anything: the file
 * parses and validates (`load`), every plugin directory under `plugin_paths`
 * loads, every listed plugin exists and has its `*_env` variables, each
 * plugin's config matches its config contract, a channel kind has one owner,
 * the bindings are valid and name registered workflows. At start the daemon
 * logs most of these and runs without the plugin; a reload is stricter, since
 * a half-edited manifest would otherwise stop a running plugin. Throws the
 * loader's NEXO_ERR_CONFIG_PARSE / NEXO_ERR_CONFIG_INVALID, or
 * NEXO_ERR_CONFIG_INVALID listing every other problem in `details.data.violations`.
 */
export async function prepareReload(load: () => NexoConfig, app: Nexo): Promise<ReloadState> {
  const config = load();
  const violations: Violation[] = [];
  const found = await discoverPlugins(config.pluginPaths);
  for (const r of found.rejected) violations.push({ path: "/plugin_paths", message: `${r.path}: ${r.error.message}` });
  const { specs, errors } = buildPluginSpecs(found.manifests, config.plugins);
  for (const e of errors) violations.push({ path: "/plugins", message: e.message });
  const kinds = new Map<string, string>();
  const keys = new Set<string>();
  for (const spec of specs) {
    const key = pluginKey(spec);
    if (keys.has(key)) violations.push({ path: "/plugins", message: `two plugins named ${key}; give one a distinct id or instance label` });
    keys.add(key);
    for (const { kind } of spec.manifest.channels) {
      const owner = kinds.get(kind);
      if (owner && owner !== spec.manifest.id)
        violations.push({ path: "/plugins", message: `plugins ${owner} and ${spec.manifest.id} both register channel kind "${kind}"; a channel kind has one owner` });
      kinds.set(kind, spec.manifest.id);
    }
    try {
      checkPluginConfig(spec);
    } catch (err) {
      violations.push({ path: "/plugins", message: (err as Error).message });
    }
  }
  let bindings: ReloadState["bindings"] = [];
  try {
    bindings = parseBindings(config.bindings);
    const registered = new Set(app.listWorkflows().map((w) => w.name));
    for (const b of bindings)
      if (b.workflow !== undefined && !registered.has(b.workflow))
        violations.push({ path: "/bindings", message: `binding ${b.name}: no workflow named "${b.workflow}" (workflow modules load at start: a new one needs a restart)` });
  } catch (err) {
    if (!isNexoError(err)) throw err;
    const listed = isNexoError(err, ErrorCodes.BINDING_INVALID) ? err.details.data?.violations : undefined;
    violations.push(...(listed ?? [{ path: "/bindings", message: err.message }]));
  }
  if (violations.length > 0) {
    throw new NexoError(ErrorCodes.CONFIG_INVALID, `${config.file ?? "config"}: not reloaded, nothing changed:\n  ${violations.map(violationLine).join("\n  ")}`, {
      ...(config.file ? { file: config.file } : {}),
      data: { violations },
    });
  }
  return { config, plugins: specs, bindings };
}

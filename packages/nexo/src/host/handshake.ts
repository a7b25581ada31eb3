import { ErrorCodes, NexoError } from "../errors.js";
import type { PluginManifest } from "../manifest/index.js";
import type { PluginToolDescriptor } from "./types.js";

/** The checked result of `initialize`. */
export interface InitializeOutcome {
  serverVersion: string;
  /** The plugin's own view of its manifest (as JSON). */
  manifest: Record<string, unknown>;
  tools: PluginToolDescriptor[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Check an `initialize` result (docs/contract.md, Lifecycle): `manifest.plugin.id`
 * must be the id we expect (impersonation defence) and every advertised tool
 * must be declared in `[plugin.extends].tools` or (upstream form)
 * `[plugin.tools] expose = ["name", ...]`.
 */
export function checkInitializeResult(result: unknown, manifest: PluginManifest): InitializeOutcome {
  const pluginId = manifest.id;
  if (!isObject(result)) {
    throw new NexoError(ErrorCodes.HOST_INIT_FAILED, `plugin ${pluginId}: initialize result must be an object`, { pluginId });
  }
  const m = result.manifest;
  const plugin = isObject(m) ? m.plugin : undefined;
  const reportedId = isObject(plugin) ? plugin.id : undefined;
  if (reportedId !== pluginId) {
    throw new NexoError(
      ErrorCodes.HOST_ID_MISMATCH,
      `plugin ${pluginId}: initialize reported id ${JSON.stringify(reportedId ?? null)}; refusing a plugin that does not identify as "${pluginId}"`,
      { pluginId },
    );
  }
  const serverVersion = typeof result.server_version === "string" && result.server_version.length > 0 ? result.server_version : `${pluginId}-${manifest.version}`;
  const tools: PluginToolDescriptor[] = [];
  if (result.tools !== undefined && result.tools !== null) {
    if (!Array.isArray(result.tools)) {
      throw new NexoError(ErrorCodes.HOST_INIT_FAILED, `plugin ${pluginId}: initialize result "tools" must be an array`, { pluginId });
    }
    const declared = new Set([...manifest.extends.tools, ...manifest.toolsExposeNames]);
    for (const t of result.tools) {
      if (!isObject(t) || typeof t.name !== "string" || t.name.length === 0) {
        throw new NexoError(ErrorCodes.HOST_INIT_FAILED, `plugin ${pluginId}: each advertised tool needs a string "name"`, { pluginId });
      }
      if (!declared.has(t.name)) {
        throw new NexoError(
          ErrorCodes.HOST_TOOL_UNDECLARED,
          `plugin ${pluginId}: advertises tool "${t.name}" that neither [plugin.extends].tools nor [plugin.tools] expose declares (declared: ${[...declared].join(", ") || "none"})`,
          { pluginId },
        );
      }
      const schema = t.input_schema ?? t.inputSchema;
      if (schema !== undefined && !isObject(schema)) {
        throw new NexoError(ErrorCodes.HOST_INIT_FAILED, `plugin ${pluginId}: tool "${t.name}" input_schema must be an object`, { pluginId });
      }
      tools.push({
        name: t.name,
        description: typeof t.description === "string" ? t.description : "",
        inputSchema: (schema as Record<string, unknown> | undefined) ?? { type: "object" },
      });
    }
  }
  return { serverVersion, manifest: m as Record<string, unknown>, tools };
}

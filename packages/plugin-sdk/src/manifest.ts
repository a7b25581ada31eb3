import { parse as parseToml } from "smol-toml";
import { PLUGIN_ID_PATTERN as ID_PATTERN } from "./codes.js";
import { ManifestError } from "./errors.js";

/** The `[plugin]` table of a manifest: `id` checked, the rest as written. */
export interface ManifestPluginSection {
  id: string;
  version?: string;
  name?: string;
  description?: string;
  min_nexo_version?: string;
  [key: string]: unknown;
}

/** A parsed manifest: the whole TOML as JSON (`raw`, what `initialize` sends back) and its `[plugin]` table. */
export interface ParsedManifest {
  raw: Record<string, unknown>;
  plugin: ManifestPluginSection;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parse a `nexo-plugin.toml` text. Throws ManifestError when it is not TOML,
 * has no `[plugin]` table, or `[plugin].id` is missing or not a valid id.
 * @example const { plugin } = parseManifest(readFileSync("nexo-plugin.toml", "utf8")); plugin.id
 */
export function parseManifest(toml: string): ParsedManifest {
  if (typeof toml !== "string") throw new ManifestError("manifest must be TOML text (a string)");
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(toml) as Record<string, unknown>;
  } catch (err) {
    throw new ManifestError(`manifest is not valid TOML: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
  const plugin = raw.plugin;
  if (!isObj(plugin)) throw new ManifestError("manifest has no [plugin] table", "plugin");
  if (typeof plugin.id !== "string" || plugin.id === "") throw new ManifestError("manifest has no [plugin].id", "plugin.id");
  if (!ID_PATTERN.test(plugin.id)) {
    throw new ManifestError(`[plugin].id ${JSON.stringify(plugin.id)} must be a lowercase letter then up to 31 of a-z, 0-9, _`, "plugin.id");
  }
  return { raw, plugin: plugin as ManifestPluginSection };
}

/** `[plugin.extends].tools`, or undefined when absent. Throws ManifestError when present but not a list of strings. */
export function manifestExtendsTools(raw: Record<string, unknown>): string[] | undefined {
  const plugin = raw.plugin;
  if (!isObj(plugin) || !isObj(plugin.extends) || !("tools" in plugin.extends)) return undefined;
  const tools = plugin.extends.tools;
  if (!Array.isArray(tools) || !tools.every((t) => typeof t === "string")) {
    throw new ManifestError("[plugin.extends].tools must be a list of strings", "plugin.extends.tools");
  }
  return tools;
}

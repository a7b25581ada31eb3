import { existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { ErrorCodes, NexoError } from "../errors.js";
import { PluginFileError, readPluginFile, type PluginManifest } from "../manifest/index.js";

/** The conformance settings file, beside the manifest. */
export const CONFORMANCE_FILE_NAME = "nexo-conformance.toml";

/** What a plugin tells the conformance runner about itself. */
export interface ConformanceSettings {
  /** Optional behaviours the plugin has (`echo`, `probe`). */
  tags: string[];
  /** The server_version the plugin reports, when it is not `<id>-<version>`. */
  serverVersion?: string;
  /** A valid operator config: given to the plugin at start and sent by the `configure` vector. */
  config?: unknown;
  /** Variables an operator would give the plugin (e.g. the token a `*_env` setting names), added to its environment. */
  env?: Record<string, string>;
  /** Where the settings came from (the file, the deprecated manifest section, or none). */
  source: string | null;
  /** Deprecation notices to show the author. */
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

function invalid(where: string, field: string, message: string): NexoError {
  return new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `${where}: ${field} ${message}`, { file: where, field });
}

function fromTable(t: Obj, where: string, allowed: readonly string[]): Omit<ConformanceSettings, "source" | "warnings"> {
  for (const k of Object.keys(t)) {
    if (!allowed.includes(k)) throw invalid(where, k, `is not a conformance setting (known: ${allowed.join(", ")})`);
  }
  const tags = t.tags ?? [];
  if (!Array.isArray(tags) || tags.some((x) => typeof x !== "string")) throw invalid(where, "tags", "must be a list of strings");
  if (t.server_version !== undefined && typeof t.server_version !== "string") throw invalid(where, "server_version", "must be a string");
  const env = t.env;
  if (env !== undefined) {
    if (!isObj(env) || Object.entries(env).some(([k, v]) => typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || k.startsWith("NEXO_"))) {
      throw invalid(where, "env", "must be a table of variable names (not NEXO_*) to strings");
    }
  }
  return {
    tags: tags as string[],
    ...(typeof t.server_version === "string" ? { serverVersion: t.server_version } : {}),
    ...(t.config !== undefined ? { config: JSON.parse(JSON.stringify(t.config)) as unknown } : {}),
    ...(env !== undefined ? { env: { ...(env as Record<string, string>) } } : {}),
  };
}

/**
 * A plugin's conformance settings: `nexo-conformance.toml` beside its
 * manifest (`tags`, `server_version`, `config`, `env`), else the deprecated
 * `[plugin.conformance]` manifest section (read with a warning: upstream
 * hosts refuse a manifest carrying it). Neither: no tags, no settings.
 */
export function readConformanceSettings(manifest: PluginManifest): ConformanceSettings {
  const file = join(manifest.dir, CONFORMANCE_FILE_NAME);
  const section = (manifest.raw.plugin as Obj | undefined)?.conformance;
  const warnings: string[] = [];
  if (existsSync(file)) {
    let text: string;
    try {
      text = readPluginFile(file, manifest.dir);
    } catch (err) {
      if (err instanceof PluginFileError) throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, err.message, { file });
      throw err;
    }
    let doc: Obj;
    try {
      doc = parse(text) as Obj;
    } catch (err) {
      throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `${file}: not valid TOML: ${(err as Error).message.split("\n")[0]}`, { file, cause: err });
    }
    if (section !== undefined) warnings.push(`${manifest.file}: [plugin.conformance] is ignored because ${CONFORMANCE_FILE_NAME} exists; delete the section`);
    return { ...fromTable(doc, file, ["tags", "server_version", "config", "env"]), source: file, warnings };
  }
  if (section === undefined) return { tags: [], source: null, warnings };
  const where = `${manifest.file}: [plugin.conformance]`;
  if (!isObj(section)) throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `${where} must be a table`, { file: manifest.file, field: "plugin.conformance" });
  warnings.push(`${where} is deprecated: move it to ${CONFORMANCE_FILE_NAME} beside the manifest, so the manifest also loads on upstream hosts`);
  return { ...fromTable(section, where, ["tags", "server_version"]), source: where, warnings };
}

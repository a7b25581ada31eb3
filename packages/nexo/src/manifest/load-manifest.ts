import { existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { ErrorCodes } from "../errors.js";
import { ManifestError } from "./manifest-error.js";
import type { PluginManifest } from "./types.js";
import { validateManifest } from "./validate.js";

/** Manifest file names, in order of preference (`plugin.toml` wins). */
export const MANIFEST_FILE_NAMES = ["plugin.toml", "nexo-plugin.toml"] as const;

/** The manifest file in `dir`, or null. */
export function findManifestFile(dir: string): string | null {
  for (const name of MANIFEST_FILE_NAMES) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Parse and validate manifest text. Throws ManifestError listing every violation. */
export function parseManifest(text: string, options: { file: string; nexoVersion: string }): PluginManifest {
  const file = resolve(options.file);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(JSON.stringify(parse(text))) as Record<string, unknown>;
  } catch (err) {
    const where = err instanceof TomlError ? `line ${err.line}, column ${err.column}` : "toml";
    const message = (err as Error).message.split("\n")[0];
    throw new ManifestError(file, [{ field: where, rule: "toml_syntax", message }], ErrorCodes.MANIFEST_PARSE);
  }
  const result = validateManifest(raw, file, options.nexoVersion);
  if (!result.manifest) {
    const onlyVersion = result.versionUnsatisfied && result.violations.every((v) => v.rule === "version_unsatisfied");
    throw new ManifestError(file, result.violations, onlyVersion ? ErrorCodes.MANIFEST_VERSION_UNSATISFIED : ErrorCodes.MANIFEST_INVALID);
  }
  return result.manifest;
}

/** Load the manifest of a plugin directory (or a manifest file). */
export function loadManifest(dirOrFile: string, options: { nexoVersion: string }): PluginManifest {
  const path = resolve(dirOrFile);
  let file: string | null = path;
  if (existsSync(path) && statSync(path).isDirectory()) file = findManifestFile(path);
  if (!file || !existsSync(file)) {
    throw new ManifestError(path, [{ field: "file", rule: "exists", message: `no ${MANIFEST_FILE_NAMES.join(" or ")} found` }], ErrorCodes.MANIFEST_NOT_FOUND);
  }
  return parseManifest(readFileSync(file, "utf8"), { file, nexoVersion: options.nexoVersion });
}

/**
 * Where and how to start the plugin: an absolute command stays; one with a
 * slash (or starting with `.`) resolves against the manifest's directory; a
 * bare name is looked up on PATH by the OS. The cwd is the plugin's directory.
 */
export function resolveEntrypoint(manifest: PluginManifest): { command: string; args: string[]; cwd: string } {
  const cmd = manifest.entrypoint.command;
  const relativePath = !isAbsolute(cmd) && (cmd.includes("/") || cmd.startsWith("."));
  return { command: relativePath ? resolve(manifest.dir, cmd) : cmd, args: [...manifest.entrypoint.args], cwd: manifest.dir };
}

/** Is `command` (bare name) on PATH? Used for friendlier errors. */
export function isOnPath(command: string, pathEnv = process.env.PATH ?? ""): boolean {
  return pathEnv.split(delimiter).some((d) => d && existsSync(join(d, command)));
}

/** Human report for `nexo manifest validate`. */
export function formatManifestReport(result: PluginManifest | ManifestError): string {
  if (result instanceof ManifestError) return `✗ ${result.message}`;
  const m = result;
  const lines = [
    `✓ ${m.file}: valid manifest for ${m.id} ${m.version}`,
    `  entrypoint: ${[m.entrypoint.command, ...m.entrypoint.args].join(" ")}`,
    `  channels:   ${m.channels.map((c) => c.kind).join(", ") || "-"}`,
    `  tools:      ${[...m.extends.tools, ...m.toolsExpose.map((t) => t.name)].join(", ") || "-"}`,
  ];
  if (m.http) lines.push(`  http:       ${m.http.mountPrefix} -> ${m.http.mode === "broker_rpc" ? `broker plugin.${m.id}.http.request` : `plugin port ${m.httpServer?.port || "(allocated)"}`}`);
  for (const w of m.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}

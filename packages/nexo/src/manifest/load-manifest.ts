import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { NEXO_CONTRACT_VERSION } from "../contract/index.js";
import { ErrorCodes } from "../errors.js";
import { convertV1Manifest, isV1Manifest } from "./compat-v1.js";
import { ManifestError } from "./manifest-error.js";
import { askBinaryForManifest, type PrintManifestOptions } from "./print-manifest.js";
import { PluginFileError, readPluginFile } from "./read-plugin-file.js";
import type { PluginManifest } from "./types.js";
import { ID_PATTERN, validateManifest } from "./validate.js";

/** Manifest file names, in order of preference (`plugin.toml` wins). */
export const MANIFEST_FILE_NAMES = ["plugin.toml", "nexo-plugin.toml"] as const;

/** Options of the manifest loaders. */
export interface LoadManifestOptions {
  /** The upstream daemon version `min_nexo_version` is checked against. Default NEXO_CONTRACT_VERSION. */
  nexoVersion?: string;
}

/** The manifest file in `dir` (whatever kind of file it is: the reader checks), or null. */
export function findManifestFile(dir: string): string | null {
  for (const name of MANIFEST_FILE_NAMES) {
    const p = join(dir, name);
    try {
      lstatSync(p);
      return p;
    } catch {
      // absent: try the next name
    }
  }
  return null;
}

/**
 * Parse and validate manifest text. A legacy (`manifest_version = 1`)
 * manifest is converted first, with a warning. Throws ManifestError listing
 * every violation: NEXO_ERR_MANIFEST_UNSUPPORTED when every problem is a
 * section this host does not implement.
 */
export function parseManifest(text: string, options: { file: string; dir?: string; defaultEntrypoint?: string } & LoadManifestOptions): PluginManifest {
  const file = options.dir ? options.file : resolve(options.file);
  let parsed: Record<string, unknown>;
  try {
    parsed = parse(text) as Record<string, unknown>;
  } catch (err) {
    const where = err instanceof TomlError ? `line ${err.line}, column ${err.column}` : "toml";
    const message = (err as Error).message.split("\n")[0];
    throw new ManifestError(file, [{ field: where, rule: "toml_syntax", message }], ErrorCodes.MANIFEST_PARSE);
  }
  const preWarnings: string[] = [];
  if (isV1Manifest(parsed)) {
    const converted = convertV1Manifest(parsed);
    parsed = converted.raw;
    preWarnings.push(
      `manifest_version = 1 (legacy shape) converted to manifest_version = 2; please migrate${converted.dropped.length ? `; dropped as upstream drops them: ${converted.dropped.join(", ")}` : ""}`,
    );
  }
  const result = validateManifest(parsed, file, options.nexoVersion ?? NEXO_CONTRACT_VERSION, {
    ...(options.dir ? { dir: resolve(options.dir) } : {}),
    ...(options.defaultEntrypoint ? { defaultEntrypoint: options.defaultEntrypoint } : {}),
  });
  if (!result.manifest) {
    const only = (rule: string): boolean => result.violations.every((v) => v.rule === rule);
    const code =
      result.versionUnsatisfied && only("version_unsatisfied")
        ? ErrorCodes.MANIFEST_VERSION_UNSATISFIED
        : only("unsupported")
          ? ErrorCodes.MANIFEST_UNSUPPORTED
          : ErrorCodes.MANIFEST_INVALID;
    throw new ManifestError(file, result.violations, code);
  }
  // `raw` travels as JSON (initialize, conformance); validation saw the TOML types.
  return { ...result.manifest, raw: JSON.parse(JSON.stringify(parsed)) as Record<string, unknown>, warnings: [...preWarnings, ...result.manifest.warnings] };
}

/** Read a manifest file through the safe reader; refusals become ManifestErrors naming the path. */
function readManifestFile(file: string, root: string): string {
  try {
    return readPluginFile(file, root);
  } catch (err) {
    if (!(err instanceof PluginFileError)) throw err;
    const code = err.problem === "not_found" ? ErrorCodes.MANIFEST_NOT_FOUND : ErrorCodes.MANIFEST_UNREADABLE;
    throw new ManifestError(file, [{ field: "file", rule: err.problem, message: err.message }], code);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Load the manifest of a plugin directory (or a manifest file). Only a
 * regular file of at most 1 MiB that does not lead out of the plugin
 * directory is read (see `readPluginFile`).
 */
export function loadManifest(dirOrFile: string, options: LoadManifestOptions = {}): PluginManifest {
  const path = resolve(dirOrFile);
  const dir = isDirectory(path);
  const file = dir ? findManifestFile(path) : path;
  if (!file || (!dir && !existsSync(file) && !isSymlink(file))) {
    throw new ManifestError(path, [{ field: "file", rule: "exists", message: `no ${MANIFEST_FILE_NAMES.join(" or ")} found` }], ErrorCodes.MANIFEST_NOT_FOUND);
  }
  return parseManifest(readManifestFile(file, dir ? path : dirname(file)), { file, ...options });
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The binary an installed upstream plugin runs as when it has no manifest
 * file: `bin/<directory name>`, `bin/<id>` for an upstream install directory
 * named `<id>-<version>`, else the only regular file in `bin/`.
 */
export function findPluginBinary(dir: string): string | null {
  const base = dir.split(/[\\/]/).filter(Boolean).pop() ?? "";
  const candidates = [base, base.replace(/-\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/, "")];
  for (const name of candidates) {
    if (name && isRegularFile(join(dir, "bin", name))) return join(dir, "bin", name);
  }
  let files: string[];
  try {
    files = readdirSync(join(dir, "bin")).filter((f) => isRegularFile(join(dir, "bin", f)));
  } catch {
    return null;
  }
  return files.length === 1 ? join(dir, "bin", files[0]) : null;
}

function isRegularFile(p: string): boolean {
  try {
    return lstatSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Load a plugin directory as the daemon discovers it: its manifest file, or,
 * when it has none, the manifest its binary prints (`bin/<dir> --print-manifest`,
 * upstream's installed-plugin layout). A printed manifest without
 * `[plugin.entrypoint]` is run as that binary; a binary named like an id must
 * print that id.
 */
export async function loadPluginManifest(dir: string, options: LoadManifestOptions & Partial<Pick<PrintManifestOptions, "timeoutMs" | "maxBytes">> = {}): Promise<PluginManifest> {
  const root = resolve(dir);
  if (!isDirectory(root) || findManifestFile(root)) return loadManifest(root, options);
  const binary = findPluginBinary(root);
  if (!binary) return loadManifest(root, options);
  const label = `${binary} --print-manifest`;
  let text: string;
  try {
    text = await askBinaryForManifest(binary, {
      cwd: root,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
    });
  } catch (err) {
    throw new ManifestError(label, [{ field: "file", rule: "print_manifest", message: (err as Error).message }], ErrorCodes.MANIFEST_UNREADABLE);
  }
  const name = binary.split(/[\\/]/).pop() as string;
  // Relative paths resolve against the plugin directory; without [plugin.entrypoint] the binary itself is run.
  const manifest = parseManifest(text, { file: label, dir: root, defaultEntrypoint: `./bin/${name}`, ...options });
  // A binary named like a plugin id must print that id (bin/<id> is upstream's layout); a tool-named one (nexo-plugin-x) may not.
  if (ID_PATTERN.test(name) && manifest.id !== name) {
    throw new ManifestError(
      label,
      [{ field: "plugin.id", rule: "binary_name", message: `the printed manifest names plugin "${manifest.id}" but the binary is bin/${name}` }],
      ErrorCodes.MANIFEST_INVALID,
    );
  }
  return manifest;
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
  const tools = [...m.extends.tools, ...m.toolsExpose.map((t) => t.name), ...m.toolsExposeNames, ...m.toolsOutbound.map((t) => t.name)];
  const lines = [
    `✓ ${m.file}: valid manifest for ${m.id} ${m.version}`,
    `  entrypoint: ${[m.entrypoint.command, ...m.entrypoint.args].join(" ")}${m.entrypoint.implicit ? " (no [plugin.entrypoint]: bin/<id>)" : ""}`,
    `  channels:   ${m.channels.map((c) => c.kind).join(", ") || "-"}`,
    `  tools:      ${[...new Set(tools)].join(", ") || "-"}`,
  ];
  if (m.requires.bins.length || m.requires.env.length)
    lines.push(`  requires:   ${[...m.requires.bins.map((b) => `bin ${b}`), ...m.requires.env.map((e) => `env ${e}`)].join(", ")}`);
  if (m.broker.subscribe.length || m.broker.publish.length)
    lines.push(`  broker:     subscribe ${m.broker.subscribe.join(", ") || "-"}; publish ${m.broker.publish.join(", ") || "-"}`);
  if (m.config) lines.push(`  config:     checked against ${m.config.source} (${m.config.shape})`);
  if (m.http)
    lines.push(
      `  http:       ${m.http.mountPrefix} -> ${m.http.mode === "broker_rpc" ? `broker plugin.${m.id}.http.request` : `plugin port ${m.httpServer?.port || "(allocated)"}`}`,
    );
  if (m.sandbox?.enabled)
    lines.push(
      `  sandbox:    bubblewrap, network ${m.sandbox.network}${m.sandbox.dropUser ? ", uid 65534" : ""}${m.sandbox.fsWritePaths.length ? `, writes ${m.sandbox.fsWritePaths.join(", ")}` : ""}`,
    );
  for (const w of m.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}

import { parse, stringify } from "smol-toml";

/** Quote one word for POSIX sh. */
function shQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * `bin/<id>` for a scripting-language release archive: starts the original
 * entrypoint from `lib/`, where the plugin's files are, passing on arguments.
 */
export function launcherScript(id: string, command: string, args: string[]): string {
  return [
    "#!/bin/sh",
    `# Starts plugin ${id} from lib/ (written by nexo plugin pack --format release).`,
    'here=$(dirname -- "$0")',
    'cd -- "$here/../lib" || exit 127',
    `exec ${[command, ...args].map(shQuote).join(" ")} "$@"`,
    "",
  ].join("\n");
}

/**
 * The manifest a release archive carries at its root: the original, with an
 * explicit entrypoint `bin/<id>` (and its env) only where the original had
 * an entrypoint table, and with `schema_path`s moved under `prefix` when the
 * plugin's files moved there.
 */
export function releaseManifest(text: string, id: string, prefix: string): string {
  const raw = parse(text) as Record<string, unknown>;
  const plugin = (raw.plugin ?? {}) as Record<string, unknown>;
  const ep = plugin.entrypoint as Record<string, unknown> | undefined;
  if (ep) plugin.entrypoint = { command: `bin/${id}`, ...(ep.env ? { env: ep.env } : {}) };
  const tools = plugin.tools as { expose?: Array<Record<string, unknown>> } | undefined;
  if (prefix && Array.isArray(tools?.expose)) {
    for (const t of tools.expose) if (typeof t.schema_path === "string") t.schema_path = `${prefix}${t.schema_path.replace(/^\.\//, "")}`;
  }
  return `# Release manifest written by nexo plugin pack --format release.\n${stringify(raw)}\n`;
}

/** The manifest with its entrypoint command replaced (a virtualenv interpreter becomes the plain runtime once its packages are vendored). */
export function withEntrypointCommand(text: string, command: string): string {
  const raw = parse(text) as Record<string, unknown>;
  const plugin = (raw.plugin ?? {}) as Record<string, unknown>;
  const ep = plugin.entrypoint as Record<string, unknown> | undefined;
  if (ep) ep.command = command;
  return `# Written by nexo plugin pack: the entrypoint's interpreter is the plain runtime; its packages are vendored.\n${stringify(raw)}\n`;
}

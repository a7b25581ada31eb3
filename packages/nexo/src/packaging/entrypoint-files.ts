import { isAbsolute, normalize, sep } from "node:path";
import type { PluginManifest } from "../manifest/index.js";

const SCRIPT_EXTENSIONS = /\.(m?js|cjs|py|php|ts|mts|sh|rb|pl)$/;

/** A path the entrypoint names: where it appears and how it is written. */
export interface EntrypointPath {
  /** `command` or `args[i]`. */
  where: string;
  /** As written in the manifest. */
  written: string;
  /** POSIX path relative to the plugin directory, or null when it points outside (absolute, or escaping with `..`). */
  relative: string | null;
}

/**
 * Every file the entrypoint refers to: the command when it is a path (not a
 * bare name looked up on PATH) and each argument that looks like a path (has
 * a slash, starts with `.`, or ends like a script). These must travel with
 * the plugin for it to run somewhere else.
 */
export function entrypointPaths(manifest: Pick<PluginManifest, "entrypoint">): EntrypointPath[] {
  const out: EntrypointPath[] = [];
  const consider = (written: string, where: string, isCommand: boolean): void => {
    if (written.startsWith("-")) return;
    const pathLike = written.includes("/") || written.startsWith(".") || (!isCommand && SCRIPT_EXTENSIONS.test(written));
    if (!pathLike) return;
    if (isAbsolute(written)) return void out.push({ where, written, relative: null });
    const norm = normalize(written).split(sep).join("/");
    out.push({ where, written, relative: norm === ".." || norm.startsWith("../") || norm === "." ? null : norm });
  };
  consider(manifest.entrypoint.command, "command", true);
  manifest.entrypoint.args.forEach((a, i) => consider(a, `args[${i}]`, false));
  return out;
}

import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import formatsModule from "ajv-formats";
import { ErrorCodes, NexoError, violationLine, type Violation } from "../errors.js";
import type { PluginConfigContract } from "../manifest/index.js";
import { pluginKey, type PluginSpec } from "./types.js";
import { ajvViolation, ownProperty } from "../util/index.js";

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: Ajv) => Ajv;

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `bin` would be found: a path (relative to the plugin's directory) as is, a bare name on `PATH`. */
export function findBinary(bin: string, pluginDir: string, pathEnv: string): string | null {
  if (bin.includes("/")) {
    const p = isAbsolute(bin) ? bin : resolve(pluginDir, bin);
    return isExecutableFile(p) ? p : null;
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (dir && isExecutableFile(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

/**
 * `[plugin.requires]` at start: every `bins` entry must be an executable on
 * the daemon's PATH (or at its path), every `env` entry and the http_server's
 * `token_env` set and non-empty in the environment the plugin gets.
 * Throws NEXO_ERR_HOST_REQUIREMENT_MISSING listing everything missing.
 */
export function checkRequirements(spec: PluginSpec, parentEnv: NodeJS.ProcessEnv): void {
  const m = spec.manifest;
  const env: Record<string, string | undefined> = { ...parentEnv, ...m.entrypoint.env, ...(spec.env ?? {}) };
  const missing: string[] = [];
  for (const bin of m.requires.bins) {
    if (!findBinary(bin, m.dir, parentEnv.PATH ?? "")) missing.push(`binary "${bin}" is not ${bin.includes("/") ? "an executable file" : "an executable on PATH"}`);
  }
  const wanted = [...m.requires.env, ...(m.httpServer?.tokenEnv ? [m.httpServer.tokenEnv] : [])];
  for (const name of new Set(wanted)) {
    if (!ownProperty(env, name)) missing.push(`environment variable ${name} is not set`);
  }
  if (missing.length === 0) return;
  const key = pluginKey(spec);
  throw new NexoError(ErrorCodes.HOST_REQUIREMENT_MISSING, `plugin ${key} not started: ${missing.join("; ")} ([plugin.requires] of ${m.file})`, {
    pluginId: key,
    file: m.file,
    data: { missing },
  });
}

/** One violation, its JSON Pointer under `prefix` (an array item's index). */
function describe(e: ErrorObject, prefix: string): Violation {
  const v = ajvViolation(e);
  return { path: `${prefix}${v.path}`, message: v.message };
}

/**
 * The operator's config against the plugin's config contract, before
 * `plugin.configure`: with shape "object" the value (absent = `{}`) is
 * checked; with "array" it must be a list (absent = `[]`) whose every element
 * is checked. Throws NEXO_ERR_HOST_CONFIG_INVALID listing every violation.
 */
export function checkPluginConfig(spec: PluginSpec, contract: PluginConfigContract | undefined = spec.manifest.config): void {
  if (!contract) return;
  const key = pluginKey(spec);
  const fail = (violations: Violation[]): never => {
    throw new NexoError(ErrorCodes.HOST_CONFIG_INVALID, `plugin ${key} not started: its config does not match ${contract.source}: ${violations.map(violationLine).join("; ")}`, {
      pluginId: key,
      data: { violations },
    });
  };
  let validate;
  try {
    validate = addFormats(new Ajv({ allErrors: true, strict: false })).compile(contract.schema);
  } catch (err) {
    return fail([{ path: "", message: `the plugin's config schema itself does not compile: ${(err as Error).message}` }]);
  }
  const violations: Violation[] = [];
  if (contract.shape === "array") {
    const value = spec.config ?? [];
    if (!Array.isArray(value)) return fail([{ path: "", message: 'the config must be a list (the plugin declares shape = "array")' }]);
    value.forEach((item, i) => {
      if (!validate(item)) violations.push(...(validate.errors ?? []).map((e) => describe(e, `/${i}`)));
    });
  } else if (!validate(spec.config ?? {})) {
    violations.push(...(validate.errors ?? []).map((e) => describe(e, "")));
  }
  if (violations.length) fail(violations);
}

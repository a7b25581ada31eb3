import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { KeyObject } from "node:crypto";
import { parse } from "smol-toml";
import { ErrorCodes, NexoError } from "../errors.js";
import { parsePublicKey, type PublicKeyText } from "./signing.js";

/** How install treats signatures: `ignore` never checks, `warn` checks a present one and warns when there is none or its key is not trusted, `require` refuses anything not signed by a trusted key. */
export type TrustMode = "ignore" | "warn" | "require";
export const TRUST_MODES: readonly TrustMode[] = ["ignore", "warn", "require"];

/** One `[[authors]]` entry: who, and the key their archives are signed with. */
export interface TrustedAuthor {
  owner: string;
  publicKey: PublicKeyText;
  key: KeyObject;
}

/** A loaded trusted-keys file (or the defaults when there is none). */
export interface TrustPolicy {
  mode: TrustMode;
  authors: TrustedAuthor[];
  /** The file it came from, or null for the built-in default (warn, nobody trusted). */
  file: string | null;
}

/** Where the trusted-keys file is looked for: `$NEXO_TRUSTED_KEYS`, else `$XDG_CONFIG_HOME/nexo/trusted_keys.toml` (`~/.config/...`). */
export function defaultTrustedKeysFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEXO_TRUSTED_KEYS) return resolve(env.NEXO_TRUSTED_KEYS);
  return join(env.XDG_CONFIG_HOME ? resolve(env.XDG_CONFIG_HOME) : join(homedir(), ".config"), "nexo", "trusted_keys.toml");
}

/**
 * Load a trusted-keys file (upstream's `trusted_keys.toml` shape):
 *
 * ```toml
 * schema_version = "1.0"
 * default = "require"          # ignore | warn | require; default "warn"
 * [[authors]]
 * owner = "acme"
 * public_key = "ed25519:..."   # from `nexo plugin keygen`
 * ```
 *
 * Unknown fields are refused, so a typo never silently weakens the policy.
 * A missing file at the default location means warn mode with nobody trusted;
 * a file named explicitly must exist.
 */
export function loadTrustPolicy(file?: string, options: { mode?: TrustMode } = {}): TrustPolicy {
  const explicit = file !== undefined;
  const path = explicit ? resolve(file) : defaultTrustedKeysFile();
  let policy: TrustPolicy = { mode: "warn", authors: [], file: null };
  if (existsSync(path) || explicit) policy = parseTrustFile(path);
  if (options.mode) policy = { ...policy, mode: options.mode };
  return policy;
}

function parseTrustFile(path: string): TrustPolicy {
  const bad = (why: string, field?: string): NexoError => new NexoError(ErrorCodes.PACKAGE_TRUST_CONFIG, `${path}: ${why}`, { file: path, ...(field ? { field } : {}) });
  if (!existsSync(path) || !statSync(path).isFile()) throw bad("no trusted-keys file there");
  if (statSync(path).size > 1 << 20) throw bad("larger than 1 MiB");
  let raw: Record<string, unknown>;
  try {
    raw = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw bad(`not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  for (const k of Object.keys(raw)) if (!["schema_version", "default", "authors"].includes(k)) throw bad(`unknown field "${k}" (expected schema_version, default, [[authors]])`, k);
  if (raw.schema_version !== undefined && raw.schema_version !== "1.0") throw bad(`schema_version ${JSON.stringify(raw.schema_version)} is not "1.0"`, "schema_version");
  const mode = raw.default ?? "warn";
  if (!TRUST_MODES.includes(mode as TrustMode)) throw bad(`default must be one of ${TRUST_MODES.join(", ")}, got ${JSON.stringify(mode)}`, "default");
  const list = raw.authors ?? [];
  if (!Array.isArray(list)) throw bad("authors must be an array of tables ([[authors]])", "authors");
  const authors = list.map((a: unknown, i): TrustedAuthor => {
    const field = `authors[${i}]`;
    if (!a || typeof a !== "object" || Array.isArray(a)) throw bad(`${field} must be a table`, field);
    const e = a as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!["owner", "public_key"].includes(k)) throw bad(`${field} has unknown field "${k}" (expected owner, public_key)`, `${field}.${k}`);
    if (typeof e.owner !== "string" || e.owner.trim() === "") throw bad(`${field}.owner must be a non-empty string`, `${field}.owner`);
    if (typeof e.public_key !== "string") throw bad(`${field}.public_key must be a string`, `${field}.public_key`);
    return { owner: e.owner, publicKey: e.public_key, key: parsePublicKey(e.public_key, `${path} ${field}.public_key`) };
  });
  return { mode: mode as TrustMode, authors, file: path };
}

import { PLUGIN_ID_PATTERN } from "nexo-plugin-sdk/contract";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import semver from "semver";
import { Checker, ENV_NAME_PATTERN, isObj, typeName, type Obj } from "./checker.js";
import type { ManifestViolation, PluginManifest } from "./types.js";
import { checkCapabilities, checkRequires, checkSubscriptions } from "./validate-capabilities.js";
import { checkConfig } from "./validate-config.js";
import { checkTools } from "./validate-tools.js";
import { checkMountPrefix } from "./mount-prefix.js";
import { checkOtherSections } from "./validate-unsupported.js";

/** Plugin and channel ids (docs/contract.md). */
export const ID_PATTERN = PLUGIN_ID_PATTERN;
/** `[plugin.extends]` ids: upstream allows 64 characters (multi-word tool names such as `marketing_lead_detect_meeting_intent`). */
export const EXTENDS_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
/** SemVer 2.0.0, exactly: no leading `v`, no surrounding space, no leading zeros. */
const STRICT_SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Every `[plugin]` key of upstream's schema, plus Nexo's deprecated `conformance`. Anything else is refused, as upstream refuses it. */
const KNOWN_PLUGIN_KEYS = new Set([
  "id",
  "version",
  "name",
  "description",
  "min_nexo_version",
  "enabled_by_default",
  "capabilities",
  "tools",
  "advisors",
  "agents",
  "channels",
  "skills",
  "config",
  "config_schema",
  "credentials_schema",
  "extends",
  "requires",
  "capability_gates",
  "ui",
  "pairing",
  "contracts",
  "meta",
  "dashboard",
  "metrics",
  "admin",
  "http",
  "public_tunnel",
  "entrypoint",
  "supervisor",
  "sandbox",
  "subscriptions",
  "http_server",
  "poller",
  "conformance",
]);
const KNOWN_TOP_KEYS = new Set(["manifest_version", "plugin"]);

/**
 * A `min_nexo_version` requirement in node-semver syntax. Upstream parses it
 * as a Cargo requirement: comparators separated by commas, and a bare version
 * (`"0.1.0"`) means a caret range (`^0.1.0`), not an exact one.
 */
export function toSemverRange(req: string): string | null {
  const parts = req.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) return null;
  const range = parts.map((p) => (/^\d/.test(p) ? `^${p}` : p)).join(" ");
  return semver.validRange(range) === null ? null : range;
}

/** Is `file` a regular file the host could start? */
function isRegularFile(file: string): boolean {
  try {
    return existsSync(file) && statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Validate a parsed manifest against every rule of docs/contract.md and apply
 * defaults. `raw` is the TOML as parsed (datetimes still datetimes, so a
 * datetime where a string belongs is refused). `dir` is the plugin directory
 * (default: the file's); `defaultEntrypoint` is run when the manifest has no
 * `[plugin.entrypoint]` (default: `bin/<id>` when that file exists). Returns
 * the manifest or the full list of violations.
 */
export function validateManifest(
  raw: Obj,
  file: string,
  nexoVersion: string,
  options: { dir?: string; defaultEntrypoint?: string } = {},
): { manifest?: PluginManifest; violations: ManifestViolation[]; versionUnsatisfied: boolean; warnings: string[] } {
  const c = new Checker();
  const dir = options.dir ?? resolve(file, "..");
  let versionUnsatisfied = false;
  const done = (): { violations: ManifestViolation[]; versionUnsatisfied: boolean; warnings: string[] } => ({ violations: c.violations, versionUnsatisfied, warnings: c.warnings });

  for (const k of Object.keys(raw)) {
    if (!KNOWN_TOP_KEYS.has(k)) c.add(k, "unknown_key", "unknown top-level key (expected manifest_version and [plugin])");
  }
  const mv = raw.manifest_version;
  if (mv !== undefined && mv !== 2) c.add("manifest_version", "value", `must be 1 or 2 (or absent), got ${JSON.stringify(mv)}`);

  const plugin = raw.plugin;
  if (!isObj(plugin)) {
    c.add("plugin", "required", plugin === undefined ? "the [plugin] table is required" : `must be a table, got ${typeName(plugin)}`);
    return done();
  }
  for (const k of Object.keys(plugin)) {
    if (!KNOWN_PLUGIN_KEYS.has(k)) c.add(`plugin.${k}`, "unknown_key", "unknown section or key (upstream's schema refuses unknown fields too)");
  }

  const id = c.string(plugin, "id", "plugin.id", true);
  if (id !== undefined && !ID_PATTERN.test(id)) c.add("plugin.id", "id_pattern", `${JSON.stringify(id)} must match ${ID_PATTERN.source}`);
  const version = c.string(plugin, "version", "plugin.version", true);
  if (version !== undefined && !STRICT_SEMVER.test(version))
    c.add("plugin.version", "semver", `${JSON.stringify(version)} is not a semantic version (e.g. 1.2.3: no leading v, no spaces)`);
  const name = c.string(plugin, "name", "plugin.name", false);
  const description = c.string(plugin, "description", "plugin.description", false);
  const minNexo = c.string(plugin, "min_nexo_version", "plugin.min_nexo_version", false);
  if (minNexo !== undefined) {
    const range = toSemverRange(minNexo);
    if (range === null) c.add("plugin.min_nexo_version", "semver_range", `${JSON.stringify(minNexo)} is not a version requirement (e.g. ">=0.1.0")`);
    else if (!semver.satisfies(nexoVersion, range, { includePrerelease: true })) {
      versionUnsatisfied = true;
      c.add("plugin.min_nexo_version", "version_unsatisfied", `plugin needs nexo ${minNexo} but this host implements the nexo ${nexoVersion} contract`);
    }
  }

  const requires = checkRequires(c, plugin);

  // entrypoint; without one, upstream's convention: the plugin's own bin/<id>
  const ep = c.table(plugin, "entrypoint", "plugin.entrypoint");
  let command = "";
  let args: string[] = [];
  let implicit = false;
  const env: Record<string, string> = {};
  if (!ep) {
    if (plugin.entrypoint === undefined && options.defaultEntrypoint !== undefined) {
      command = options.defaultEntrypoint;
      implicit = true;
    } else if (plugin.entrypoint === undefined && id !== undefined) {
      if (isRegularFile(join(dir, "bin", id))) {
        command = `./bin/${id}`;
        implicit = true;
      } else c.add("plugin.entrypoint", "required", `no [plugin.entrypoint] and no bin/${id} in ${dir} to run instead`);
    }
  } else {
    c.onlyKeys(ep, "plugin.entrypoint", ["command", "args", "env"]);
    const cmd = c.string(ep, "command", "plugin.entrypoint.command", true);
    if (cmd !== undefined && cmd.trim().length === 0) c.add("plugin.entrypoint.command", "non_empty", "must not be empty");
    if (cmd !== undefined) c.noNul(cmd, "plugin.entrypoint.command");
    command = cmd ?? "";
    args = c.stringArray(ep, "args", "plugin.entrypoint.args");
    args.forEach((a, i) => c.noNul(a, `plugin.entrypoint.args[${i}]`));
    const e = c.table(ep, "env", "plugin.entrypoint.env") ?? {};
    for (const [k, v] of Object.entries(e)) {
      const field = `plugin.entrypoint.env.${k}`;
      if (k.startsWith("NEXO_")) c.add(field, "reserved_env", "keys starting with NEXO_ are reserved for the host");
      else if (!ENV_NAME_PATTERN.test(k)) c.add(field, "env_name", "is not a valid environment variable name");
      if (typeof v !== "string") c.add(field, "type", `must be a string, got ${typeName(v)}`);
      else if (c.noNul(v, field)) env[k] = v;
    }
  }

  // channels
  const channels: Array<{ kind: string; adapter?: string }> = [];
  const ch = c.table(plugin, "channels", "plugin.channels");
  if (ch) {
    c.onlyKeys(ch, "plugin.channels", ["register"]);
    const reg = ch.register;
    if (reg !== undefined && !Array.isArray(reg)) c.add("plugin.channels.register", "type", `must be an array of tables ([[plugin.channels.register]]), got ${typeName(reg)}`);
    const seen = new Set<string>();
    (Array.isArray(reg) ? reg : []).forEach((r, i) => {
      const field = `plugin.channels.register[${i}]`;
      if (!isObj(r)) return c.add(field, "type", `must be a table, got ${typeName(r)}`);
      c.onlyKeys(r, field, ["kind", "adapter"]);
      const kind = c.string(r, "kind", `${field}.kind`, true);
      const adapter = c.string(r, "adapter", `${field}.adapter`, false);
      if (kind === undefined) return;
      if (!ID_PATTERN.test(kind)) return c.add(`${field}.kind`, "id_pattern", `${JSON.stringify(kind)} must match ${ID_PATTERN.source}`);
      if (seen.has(kind)) return c.add(`${field}.kind`, "duplicate", `channel kind "${kind}" is registered twice`);
      seen.add(kind);
      channels.push(adapter === undefined ? { kind } : { kind, adapter });
    });
  }

  // extends
  const ext = c.table(plugin, "extends", "plugin.extends") ?? {};
  const extKeys = ["channels", "llm_providers", "memory_backends", "hooks", "tools"] as const;
  c.onlyKeys(ext, "plugin.extends", extKeys);
  const lists: Record<(typeof extKeys)[number], string[]> = { channels: [], llm_providers: [], memory_backends: [], hooks: [], tools: [] };
  const everywhere = new Map<string, string>();
  for (const key of extKeys) {
    const field = `plugin.extends.${key}`;
    const items = c.stringArray(ext, key, field);
    const within = new Set<string>();
    items.forEach((item, i) => {
      if (!EXTENDS_ID_PATTERN.test(item)) return c.add(`${field}[${i}]`, "id_pattern", `${JSON.stringify(item)} must match ${EXTENDS_ID_PATTERN.source}`);
      if (within.has(item)) return c.add(`${field}[${i}]`, "duplicate", `"${item}" is listed twice`);
      const other = everywhere.get(item);
      if (other) return c.add(`${field}[${i}]`, "duplicate_across", `"${item}" is also listed in plugin.extends.${other}`);
      within.add(item);
      everywhere.set(item, key);
      lists[key].push(item);
    });
  }

  const tools = checkTools(c, plugin, dir);

  // supervisor (upstream allows a backoff up to 5 minutes; each wait is still capped at 60 s)
  const sup = c.table(plugin, "supervisor", "plugin.supervisor") ?? {};
  c.onlyKeys(sup, "plugin.supervisor", ["respawn", "max_attempts", "backoff_ms", "stderr_tail_lines"]);
  const supervisor = {
    respawn: c.boolean(sup, "respawn", "plugin.supervisor.respawn", true),
    maxAttempts: c.integer(sup, "max_attempts", "plugin.supervisor.max_attempts", 0, 100, 3),
    backoffMs: c.integer(sup, "backoff_ms", "plugin.supervisor.backoff_ms", 1, 300_000, 1000),
    stderrTailLines: c.integer(sup, "stderr_tail_lines", "plugin.supervisor.stderr_tail_lines", 1, 512, 32),
  };

  // capabilities (http_server, broker, ...) and http
  const caps = checkCapabilities(c, plugin);
  const httpServer = caps.httpServer;
  const subscriptions = checkSubscriptions(c, plugin);
  const config = checkConfig(c, plugin, dir);
  const { sandbox } = checkOtherSections(c, plugin);
  let http: PluginManifest["http"];
  const h = c.table(plugin, "http", "plugin.http");
  if (h) {
    c.onlyKeys(h, "plugin.http", ["mount_prefix", "timeout_seconds"]);
    const prefix = c.string(h, "mount_prefix", "plugin.http.mount_prefix", true);
    const timeoutSeconds = c.integer(h, "timeout_seconds", "plugin.http.timeout_seconds", 1, 3600, 30);
    if (prefix !== undefined) {
      const problem = checkMountPrefix(prefix);
      if (problem) c.add("plugin.http.mount_prefix", problem.rule, problem.message);
      // Without [plugin.capabilities.http_server] it is upstream's broker-RPC proxy (plugin.<id>.http.request).
      http = { mountPrefix: prefix, timeoutSeconds, mode: httpServer ? "reverse_proxy" : "broker_rpc" };
    }
  }

  if (c.violations.length > 0) return done();
  const manifest: PluginManifest = {
    file,
    dir,
    manifestVersion: 2,
    raw,
    id: id!,
    version: version!,
    name: name ?? id!,
    description: description ?? "",
    ...(minNexo !== undefined ? { minNexoVersion: minNexo } : {}),
    requires,
    entrypoint: { command, args, env, ...(implicit ? { implicit } : {}) },
    channels,
    extends: { channels: lists.channels, llmProviders: lists.llm_providers, memoryBackends: lists.memory_backends, hooks: lists.hooks, tools: lists.tools },
    ...tools,
    broker: { subscribe: [...new Set([...caps.broker.subscribe, ...subscriptions])], publish: caps.broker.publish },
    passEnv: [...new Set([...requires.env, ...caps.passEnv])],
    ...(config ? { config } : {}),
    supervisor,
    ...(httpServer ? { httpServer } : {}),
    ...(http ? { http } : {}),
    ...(sandbox ? { sandbox } : {}),
    warnings: c.warnings,
  };
  return { manifest, violations: [], versionUnsatisfied, warnings: c.warnings };
}

import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isAbsolute, relative, resolve } from "node:path";
import semver from "semver";
import { checkMountPrefix } from "./mount-prefix.js";
import type { ManifestViolation, PluginManifest, ToolExpose } from "./types.js";

/** Plugin and channel ids (CONTRACT.md). */
export const ID_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const KNOWN_PLUGIN_KEYS = new Set(["id", "version", "name", "description", "min_nexo_version", "requires", "entrypoint", "channels", "extends", "tools", "supervisor", "capabilities", "http", "conformance"]);
const KNOWN_TOP_KEYS = new Set(["manifest_version", "plugin"]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const typeName = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : v instanceof Date ? "datetime" : typeof v);

/** Collects violations while walking a manifest. */
class Checker {
  readonly violations: ManifestViolation[] = [];
  readonly warnings: string[] = [];

  add(field: string, rule: string, message: string): void {
    this.violations.push({ field, rule, message });
  }

  string(obj: Obj, key: string, field: string, required: boolean): string | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.add(field, "required", "is required");
      return undefined;
    }
    if (typeof v !== "string") {
      this.add(field, "type", `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  table(obj: Obj, key: string, field: string): Obj | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (!isObj(v)) {
      this.add(field, "type", `must be a table, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  stringArray(obj: Obj, key: string, field: string): string[] {
    const v = obj[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.add(field, "type", `must be an array of strings, got ${typeName(v)}`);
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== "string") this.add(`${field}[${i}]`, "type", `must be a string, got ${typeName(item)}`);
      else out.push(item);
    });
    return out;
  }

  integer(obj: Obj, key: string, field: string, min: number, max: number, fallback: number): number {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.add(field, "type", `must be an integer, got ${typeName(v)}`);
      return fallback;
    }
    if (v < min || v > max) {
      this.add(field, "range", `must be between ${min} and ${max}, got ${v}`);
      return fallback;
    }
    return v;
  }

  boolean(obj: Obj, key: string, field: string, fallback: boolean): boolean {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") {
      this.add(field, "type", `must be a boolean, got ${typeName(v)}`);
      return fallback;
    }
    return v;
  }

  /** Unknown keys inside a known section are errors: a typo must not pass silently. */
  onlyKeys(obj: Obj, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) this.add(`${field}.${k}`, "unknown_key", `unknown key (expected one of: ${allowed.join(", ")})`);
    }
  }
}

/**
 * Validate a parsed manifest against every rule of CONTRACT.md and apply
 * defaults. Returns the manifest or the full list of violations.
 */
export function validateManifest(raw: Obj, file: string, nexoVersion: string): { manifest?: PluginManifest; violations: ManifestViolation[]; versionUnsatisfied: boolean } {
  const c = new Checker();
  const dir = resolve(file, "..");
  let versionUnsatisfied = false;

  for (const k of Object.keys(raw)) {
    if (!KNOWN_TOP_KEYS.has(k)) c.warnings.push(`unknown top-level key "${k}" ignored`);
  }
  const mv = raw.manifest_version;
  if (mv !== undefined && mv !== 2) c.add("manifest_version", "value", `must be 2 (or absent), got ${JSON.stringify(mv)}`);

  const plugin = raw.plugin;
  if (!isObj(plugin)) {
    c.add("plugin", "required", plugin === undefined ? "the [plugin] table is required" : `must be a table, got ${typeName(plugin)}`);
    return { violations: c.violations, versionUnsatisfied };
  }
  for (const k of Object.keys(plugin)) {
    if (!KNOWN_PLUGIN_KEYS.has(k)) c.warnings.push(`unknown section [plugin.${k}] ignored`);
  }

  const id = c.string(plugin, "id", "plugin.id", true);
  if (id !== undefined && !ID_PATTERN.test(id)) c.add("plugin.id", "id_pattern", `${JSON.stringify(id)} must match ${ID_PATTERN.source}`);
  const version = c.string(plugin, "version", "plugin.version", true);
  if (version !== undefined && !semver.valid(version)) c.add("plugin.version", "semver", `${JSON.stringify(version)} is not a semantic version (e.g. 1.2.3)`);
  const name = c.string(plugin, "name", "plugin.name", false);
  const description = c.string(plugin, "description", "plugin.description", false);
  const minNexo = c.string(plugin, "min_nexo_version", "plugin.min_nexo_version", false);
  if (minNexo !== undefined) {
    if (semver.validRange(minNexo) === null) c.add("plugin.min_nexo_version", "semver_range", `${JSON.stringify(minNexo)} is not a semver range (e.g. ">=0.1.0")`);
    else if (!semver.satisfies(nexoVersion, minNexo, { includePrerelease: true })) {
      versionUnsatisfied = true;
      c.add("plugin.min_nexo_version", "version_unsatisfied", `plugin needs nexo ${minNexo} but this is nexo ${nexoVersion}`);
    }
  }

  const requires = c.table(plugin, "requires", "plugin.requires") ?? {};
  c.onlyKeys(requires, "plugin.requires", ["nexo_capabilities"]);
  const nexoCapabilities = c.stringArray(requires, "nexo_capabilities", "plugin.requires.nexo_capabilities");

  // entrypoint
  const ep = c.table(plugin, "entrypoint", "plugin.entrypoint");
  let command = "";
  let args: string[] = [];
  const env: Record<string, string> = {};
  if (!ep) {
    if (plugin.entrypoint === undefined) c.add("plugin.entrypoint", "required", "the [plugin.entrypoint] table is required");
  } else {
    c.onlyKeys(ep, "plugin.entrypoint", ["command", "args", "env"]);
    const cmd = c.string(ep, "command", "plugin.entrypoint.command", true);
    if (cmd !== undefined && cmd.trim().length === 0) c.add("plugin.entrypoint.command", "non_empty", "must not be empty");
    command = cmd ?? "";
    args = c.stringArray(ep, "args", "plugin.entrypoint.args");
    const e = c.table(ep, "env", "plugin.entrypoint.env") ?? {};
    for (const [k, v] of Object.entries(e)) {
      const field = `plugin.entrypoint.env.${k}`;
      if (k.startsWith("NEXO_")) c.add(field, "reserved_env", "keys starting with NEXO_ are reserved for the host");
      else if (!ENV_NAME_PATTERN.test(k)) c.add(field, "env_name", "is not a valid environment variable name");
      if (typeof v !== "string") c.add(field, "type", `must be a string, got ${typeName(v)}`);
      else env[k] = v;
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
      if (!ID_PATTERN.test(item)) return c.add(`${field}[${i}]`, "id_pattern", `${JSON.stringify(item)} must match ${ID_PATTERN.source}`);
      if (within.has(item)) return c.add(`${field}[${i}]`, "duplicate", `"${item}" is listed twice`);
      const other = everywhere.get(item);
      if (other) return c.add(`${field}[${i}]`, "duplicate_across", `"${item}" is also listed in plugin.extends.${other}`);
      within.add(item);
      everywhere.set(item, key);
      lists[key].push(item);
    });
  }

  // tools.expose (seed 000 form)
  const toolsExpose: ToolExpose[] = [];
  const tools = c.table(plugin, "tools", "plugin.tools");
  if (tools) {
    c.onlyKeys(tools, "plugin.tools", ["expose"]);
    const ex = tools.expose;
    if (ex !== undefined && !Array.isArray(ex)) c.add("plugin.tools.expose", "type", `must be an array of tables ([[plugin.tools.expose]]), got ${typeName(ex)}`);
    const names = new Set<string>();
    (Array.isArray(ex) ? ex : []).forEach((t, i) => {
      const field = `plugin.tools.expose[${i}]`;
      if (!isObj(t)) return c.add(field, "type", `must be a table, got ${typeName(t)}`);
      c.onlyKeys(t, field, ["name", "schema_path", "description"]);
      const tname = c.string(t, "name", `${field}.name`, true);
      const schemaPath = c.string(t, "schema_path", `${field}.schema_path`, true);
      const desc = c.string(t, "description", `${field}.description`, false);
      if (tname !== undefined) {
        if (!TOOL_NAME_PATTERN.test(tname)) c.add(`${field}.name`, "tool_name", `${JSON.stringify(tname)} must be 1-64 letters, digits, _ . or -`);
        else if (names.has(tname)) c.add(`${field}.name`, "duplicate", `tool "${tname}" is exposed twice`);
        names.add(tname);
      }
      if (schemaPath === undefined) return;
      const abs = resolve(dir, schemaPath);
      const rel = relative(dir, abs);
      if (isAbsolute(schemaPath) || rel.startsWith("..")) return c.add(`${field}.schema_path`, "inside_plugin", "must be a path inside the plugin directory");
      if (!existsSync(abs)) return c.add(`${field}.schema_path`, "exists", `file not found: ${abs}`);
      let schema: unknown;
      try {
        schema = JSON.parse(readFileSync(abs, "utf8"));
      } catch (err) {
        return c.add(`${field}.schema_path`, "json", `is not valid JSON: ${(err as Error).message}`);
      }
      if (!isObj(schema)) return c.add(`${field}.schema_path`, "schema_object", "must contain a JSON Schema object");
      if (schema.type !== undefined && schema.type !== "object") return c.add(`${field}.schema_path`, "schema_object", `a tool's input schema must have type "object", got ${JSON.stringify(schema.type)}`);
      if (tname !== undefined) toolsExpose.push({ name: tname, schemaPath: abs, inputSchema: schema, ...(desc !== undefined ? { description: desc } : {}) });
    });
  }

  // supervisor
  const sup = c.table(plugin, "supervisor", "plugin.supervisor") ?? {};
  c.onlyKeys(sup, "plugin.supervisor", ["respawn", "max_attempts", "backoff_ms", "stderr_tail_lines"]);
  const supervisor = {
    respawn: c.boolean(sup, "respawn", "plugin.supervisor.respawn", true),
    maxAttempts: c.integer(sup, "max_attempts", "plugin.supervisor.max_attempts", 0, 100, 3),
    backoffMs: c.integer(sup, "backoff_ms", "plugin.supervisor.backoff_ms", 1, 60_000, 1000),
    stderrTailLines: c.integer(sup, "stderr_tail_lines", "plugin.supervisor.stderr_tail_lines", 1, 512, 32),
  };

  // capabilities.http_server and http
  let httpServer: PluginManifest["httpServer"];
  const caps = c.table(plugin, "capabilities", "plugin.capabilities");
  if (caps) {
    for (const k of Object.keys(caps)) if (k !== "http_server") c.warnings.push(`unknown capability [plugin.capabilities.${k}] ignored`);
    const hs = c.table(caps, "http_server", "plugin.capabilities.http_server");
    if (hs) {
      c.onlyKeys(hs, "plugin.capabilities.http_server", ["port", "bind", "health_path"]);
      const port = c.integer(hs, "port", "plugin.capabilities.http_server.port", 0, 65535, 0);
      const bind = c.string(hs, "bind", "plugin.capabilities.http_server.bind", false) ?? "127.0.0.1";
      if (isIP(bind) === 0) c.add("plugin.capabilities.http_server.bind", "ip_address", `${JSON.stringify(bind)} must be an IP address`);
      else if (bind !== "127.0.0.1" && bind !== "::1") c.warnings.push(`http_server binds ${bind}, not loopback: reachable from outside the daemon`);
      const healthPath = c.string(hs, "health_path", "plugin.capabilities.http_server.health_path", false) ?? "/health";
      if (!healthPath.startsWith("/")) c.add("plugin.capabilities.http_server.health_path", "path", "must start with /");
      httpServer = { port, bind, healthPath };
    }
  }
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

  if (c.violations.length > 0) return { violations: c.violations, versionUnsatisfied };
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
    requires: { nexoCapabilities },
    entrypoint: { command, args, env },
    channels,
    extends: { channels: lists.channels, llmProviders: lists.llm_providers, memoryBackends: lists.memory_backends, hooks: lists.hooks, tools: lists.tools },
    toolsExpose,
    supervisor,
    ...(httpServer ? { httpServer } : {}),
    ...(http ? { http } : {}),
    warnings: c.warnings,
  };
  return { manifest, violations: [], versionUnsatisfied };
}

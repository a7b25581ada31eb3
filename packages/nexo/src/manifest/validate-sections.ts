import { isIP } from "node:net";
import { isAbsolute, join, relative, resolve } from "node:path";
import { validatePattern } from "../broker/index.js";
import { isObj, typeName, type Checker, type Obj } from "./checker.js";
import { PluginFileError, readPluginFile } from "./read-plugin-file.js";
import type { PluginConfigContract, PluginManifest, ToolExpose, ToolOutbound } from "./types.js";

const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Upstream's `[plugin.capabilities] provides` vocabulary. */
const PROVIDES = ["tools", "advisors", "agents", "skills", "channels", "hooks", "mcp_servers", "webhooks", "poller_drivers", "llm_providers"];
/** Default JSON-RPC method of an upstream `[[plugin.tools.outbound]]` tool. */
export const OUTBOUND_TOOL_METHOD = "outbound_tool.invoke";

/**
 * Read a JSON file of the plugin (a tool's or the config's schema) through
 * the safe reader. Adds a violation and returns undefined on any problem; the
 * message names the path, never the content (a schema_path symlinked to
 * /etc/passwd must not print /etc/passwd).
 */
function readJsonObject(c: Checker, dir: string, path: string, field: string): Obj | undefined {
  if (isAbsolute(path) || relative(dir, resolve(dir, path)).startsWith("..")) {
    c.add(field, "inside_plugin", "must be a path inside the plugin directory");
    return undefined;
  }
  const abs = resolve(dir, path);
  let text: string;
  try {
    text = readPluginFile(abs, dir);
  } catch (err) {
    if (!(err instanceof PluginFileError)) throw err;
    const rule = err.problem === "not_found" ? "exists" : err.problem === "outside_plugin" ? "inside_plugin" : "regular_file";
    c.add(field, rule, err.message);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    c.add(field, "json", `${abs} is not valid JSON`);
    return undefined;
  }
  if (!isObj(value)) {
    c.add(field, "schema_object", "must contain a JSON Schema object");
    return undefined;
  }
  return value;
}

/** An object schema from the text of a TOML string (upstream keeps schemas as JSON strings). */
function parseSchemaString(c: Checker, text: string, field: string): Obj | undefined {
  if (text.trim() === "") {
    c.add(field, "schema_object", "must not be empty");
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    c.add(field, "json", `is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
    return undefined;
  }
  if (!isObj(value)) {
    c.add(field, "schema_object", "must be a JSON object");
    return undefined;
  }
  if (value.type !== "object") {
    c.add(field, "schema_object", `the root must declare "type": "object", got ${JSON.stringify(value.type ?? null)}`);
    return undefined;
  }
  return value;
}

function envNames(c: Checker, obj: Obj, key: string, field: string): string[] {
  return c.stringArray(obj, key, field).filter((name, i) => {
    if (ENV_NAME_PATTERN.test(name)) return true;
    c.add(`${field}[${i}]`, "env_name", `${JSON.stringify(name)} is not a valid environment variable name`);
    return false;
  });
}

/** `[plugin.requires]`: nexo_capabilities, bins and env (checked when the plugin starts), features (informational, as upstream). */
export function checkRequires(c: Checker, plugin: Obj): PluginManifest["requires"] {
  const requires = c.table(plugin, "requires", "plugin.requires") ?? {};
  c.onlyKeys(requires, "plugin.requires", ["nexo_capabilities", "bins", "env", "features"]);
  const nexoCapabilities = c.stringArray(requires, "nexo_capabilities", "plugin.requires.nexo_capabilities");
  const bins = c.stringArray(requires, "bins", "plugin.requires.bins").filter((b, i) => {
    if (b.trim() === "") c.add(`plugin.requires.bins[${i}]`, "non_empty", "must not be empty");
    else if (c.noNul(b, `plugin.requires.bins[${i}]`)) return true;
    return false;
  });
  const env = envNames(c, requires, "env", "plugin.requires.env");
  c.stringArray(requires, "features", "plugin.requires.features");
  return { nexoCapabilities, bins, env };
}

/**
 * `[plugin.tools]`: `expose` as tool names (upstream) or tables with a schema
 * file (seed 000), `deferred` (a subset of expose), and
 * `[[plugin.tools.outbound]]` (upstream: a full tool spec the host calls with
 * `rpc_method {tool_name, args}`; its name must be in expose).
 */
export function checkTools(c: Checker, plugin: Obj, dir: string): Pick<PluginManifest, "toolsExpose" | "toolsExposeNames" | "toolsDeferred" | "toolsOutbound"> {
  const toolsExpose: ToolExpose[] = [];
  const toolsExposeNames: string[] = [];
  const toolsDeferred: string[] = [];
  const toolsOutbound: ToolOutbound[] = [];
  const out = { toolsExpose, toolsExposeNames, toolsDeferred, toolsOutbound };
  const tools = c.table(plugin, "tools", "plugin.tools");
  if (!tools) return out;
  c.onlyKeys(tools, "plugin.tools", ["expose", "deferred", "outbound"]);
  const ex = tools.expose;
  if (ex !== undefined && !Array.isArray(ex)) c.add("plugin.tools.expose", "type", `must be an array of tool names or of tables ([[plugin.tools.expose]]), got ${typeName(ex)}`);
  const names = new Set<string>();
  const checkName = (name: string, field: string): boolean => {
    if (!TOOL_NAME_PATTERN.test(name)) {
      c.add(field, "tool_name", `${JSON.stringify(name)} must be 1-64 letters, digits, _ . or -`);
      return false;
    }
    if (names.has(name)) {
      c.add(field, "duplicate", `tool "${name}" is exposed twice`);
      return false;
    }
    names.add(name);
    return true;
  };
  (Array.isArray(ex) ? ex : []).forEach((t, i) => {
    const field = `plugin.tools.expose[${i}]`;
    if (typeof t === "string") {
      if (checkName(t, field)) toolsExposeNames.push(t);
      return;
    }
    if (!isObj(t)) return c.add(field, "type", `must be a tool name or a table, got ${typeName(t)}`);
    c.onlyKeys(t, field, ["name", "schema_path", "description"]);
    const tname = c.string(t, "name", `${field}.name`, true);
    const schemaPath = c.string(t, "schema_path", `${field}.schema_path`, true);
    const desc = c.string(t, "description", `${field}.description`, false);
    const nameOk = tname !== undefined && checkName(tname, `${field}.name`);
    if (schemaPath === undefined) return;
    const schema = readJsonObject(c, dir, schemaPath, `${field}.schema_path`);
    if (!schema) return;
    if (schema.type !== undefined && schema.type !== "object") return c.add(`${field}.schema_path`, "schema_object", `a tool's input schema must have type "object", got ${JSON.stringify(schema.type)}`);
    if (nameOk) toolsExpose.push({ name: tname, schemaPath: resolve(dir, schemaPath), inputSchema: schema, ...(desc !== undefined ? { description: desc } : {}) });
  });
  c.stringArray(tools, "deferred", "plugin.tools.deferred").forEach((name, i) => {
    if (!names.has(name)) c.add(`plugin.tools.deferred[${i}]`, "not_exposed", `"${name}" is not in plugin.tools.expose`);
    else toolsDeferred.push(name);
  });
  if (toolsDeferred.length) c.warnings.push(`[plugin.tools] deferred has no effect on this host: ${toolsDeferred.join(", ")} are listed like every other tool`);
  const ob = tools.outbound;
  if (ob !== undefined && !Array.isArray(ob)) c.add("plugin.tools.outbound", "type", `must be an array of tables ([[plugin.tools.outbound]]), got ${typeName(ob)}`);
  (Array.isArray(ob) ? ob : []).forEach((t, i) => {
    const field = `plugin.tools.outbound[${i}]`;
    if (!isObj(t)) return c.add(field, "type", `must be a table, got ${typeName(t)}`);
    c.onlyKeys(t, field, ["name", "description", "input_schema", "rpc_method", "timeout_ms"]);
    const name = c.string(t, "name", `${field}.name`, true);
    const description = c.string(t, "description", `${field}.description`, true);
    const schemaText = c.string(t, "input_schema", `${field}.input_schema`, true);
    const rpcMethod = c.string(t, "rpc_method", `${field}.rpc_method`, false) ?? OUTBOUND_TOOL_METHOD;
    if (rpcMethod.trim() === "") c.add(`${field}.rpc_method`, "non_empty", "must not be empty");
    c.noNul(rpcMethod, `${field}.rpc_method`);
    const timeoutMs = t.timeout_ms === undefined ? undefined : c.integer(t, "timeout_ms", `${field}.timeout_ms`, 1, 3_600_000, 60_000);
    if (name !== undefined && !toolsExposeNames.includes(name)) c.add(`${field}.name`, "not_exposed", `"${name}" must also be listed in [plugin.tools] expose`);
    const inputSchema = schemaText === undefined ? undefined : parseSchemaString(c, schemaText, `${field}.input_schema`);
    if (name !== undefined && description !== undefined && inputSchema) {
      toolsOutbound.push({ name, description, inputSchema, rpcMethod, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    }
  });
  return out;
}

/**
 * `[plugin.capabilities]`: `http_server` (Nexo's reverse proxy target;
 * `token_env` and `extra_env_passthrough` name daemon variables the plugin
 * is given), `broker` (extra subscribe/publish patterns for the allowlist),
 * `provides` (declarative). `admin` grants and contributed `skills` need host
 * features Nexo does not have: refused.
 */
export function checkCapabilities(c: Checker, plugin: Obj): { httpServer?: PluginManifest["httpServer"]; broker: PluginManifest["broker"]; passEnv: string[] } {
  const broker = { subscribe: [] as string[], publish: [] as string[] };
  const passEnv: string[] = [];
  const caps = c.table(plugin, "capabilities", "plugin.capabilities");
  if (!caps) return { broker, passEnv };
  c.onlyKeys(caps, "plugin.capabilities", ["provides", "admin", "http_server", "skills", "broker"]);
  c.stringArray(caps, "provides", "plugin.capabilities.provides").forEach((p, i) => {
    if (!PROVIDES.includes(p)) c.add(`plugin.capabilities.provides[${i}]`, "value", `must be one of ${PROVIDES.join(", ")}, got ${JSON.stringify(p)}`);
  });
  const admin = c.table(caps, "admin", "plugin.capabilities.admin");
  if (admin) {
    c.onlyKeys(admin, "plugin.capabilities.admin", ["required", "optional"]);
    const wanted = [...c.stringArray(admin, "required", "plugin.capabilities.admin.required"), ...c.stringArray(admin, "optional", "plugin.capabilities.admin.optional")];
    if (wanted.length) c.unsupported("plugin.capabilities.admin", "[plugin.capabilities.admin] (admin RPC grants)");
  }
  if (c.stringArray(caps, "skills", "plugin.capabilities.skills").length) c.unsupported("plugin.capabilities.skills", "[plugin.capabilities] skills (contributed agent skills)");
  const b = c.table(caps, "broker", "plugin.capabilities.broker");
  if (b) {
    c.onlyKeys(b, "plugin.capabilities.broker", ["subscribe", "publish"]);
    for (const key of ["subscribe", "publish"] as const) {
      c.stringArray(b, key, `plugin.capabilities.broker.${key}`).forEach((p, i) => {
        try {
          validatePattern(p);
          broker[key].push(p);
        } catch (err) {
          c.add(`plugin.capabilities.broker.${key}[${i}]`, "topic_pattern", (err as Error).message);
        }
      });
    }
  }
  const hs = c.table(caps, "http_server", "plugin.capabilities.http_server");
  if (!hs) return { broker, passEnv };
  c.onlyKeys(hs, "plugin.capabilities.http_server", ["port", "bind", "health_path", "token_env", "extra_env_passthrough"]);
  const port = c.integer(hs, "port", "plugin.capabilities.http_server.port", 0, 65535, 0);
  const bind = c.string(hs, "bind", "plugin.capabilities.http_server.bind", false) ?? "127.0.0.1";
  if (isIP(bind) === 0) c.add("plugin.capabilities.http_server.bind", "ip_address", `${JSON.stringify(bind)} must be an IP address`);
  else if (bind !== "127.0.0.1" && bind !== "::1") c.warnings.push(`http_server binds ${bind}, not loopback: reachable from outside the daemon`);
  const healthPath = c.string(hs, "health_path", "plugin.capabilities.http_server.health_path", false) ?? "/health";
  if (!healthPath.startsWith("/")) c.add("plugin.capabilities.http_server.health_path", "path", "must start with /");
  const tokenEnv = c.string(hs, "token_env", "plugin.capabilities.http_server.token_env", false);
  if (tokenEnv !== undefined) {
    if (!ENV_NAME_PATTERN.test(tokenEnv)) c.add("plugin.capabilities.http_server.token_env", "env_name", `${JSON.stringify(tokenEnv)} is not a valid environment variable name`);
    else passEnv.push(tokenEnv);
  }
  passEnv.push(...envNames(c, hs, "extra_env_passthrough", "plugin.capabilities.http_server.extra_env_passthrough"));
  return { httpServer: { port, bind, healthPath, ...(tokenEnv !== undefined ? { tokenEnv } : {}) }, broker, passEnv };
}

/** `[plugin.subscriptions] broker_topics`: patterns forwarded to the plugin (added to its subscribe allowlist). */
export function checkSubscriptions(c: Checker, plugin: Obj): string[] {
  const s = c.table(plugin, "subscriptions", "plugin.subscriptions");
  if (!s) return [];
  c.onlyKeys(s, "plugin.subscriptions", ["broker_topics"]);
  const out: string[] = [];
  c.stringArray(s, "broker_topics", "plugin.subscriptions.broker_topics").forEach((p, i) => {
    try {
      validatePattern(p);
      out.push(p);
    } catch (err) {
      c.add(`plugin.subscriptions.broker_topics[${i}]`, "topic_pattern", (err as Error).message);
    }
  });
  return out;
}

/**
 * The operator-config contract: `[plugin.config_schema]` (upstream: a JSON
 * Schema string and a `shape`) or `[plugin.config] schema_path` (a schema
 * file in the plugin). Both at once: the inline schema wins, as upstream's.
 */
export function checkConfig(c: Checker, plugin: Obj, dir: string): PluginConfigContract | undefined {
  let contract: PluginConfigContract | undefined;
  const cfg = c.table(plugin, "config", "plugin.config");
  if (cfg) {
    c.onlyKeys(cfg, "plugin.config", ["schema_path", "hot_reload"]);
    c.boolean(cfg, "hot_reload", "plugin.config.hot_reload", true);
    const path = c.string(cfg, "schema_path", "plugin.config.schema_path", false);
    if (path !== undefined) {
      const schema = readJsonObject(c, dir, path, "plugin.config.schema_path");
      if (schema) contract = { schema, source: join(dir, path), shape: "object" };
    }
  }
  const cs = c.table(plugin, "config_schema", "plugin.config_schema");
  if (cs) {
    c.onlyKeys(cs, "plugin.config_schema", ["schema", "shape", "hot_reload"]);
    c.boolean(cs, "hot_reload", "plugin.config_schema.hot_reload", true);
    const shape = c.string(cs, "shape", "plugin.config_schema.shape", true);
    if (shape !== undefined && shape !== "object" && shape !== "array") c.add("plugin.config_schema.shape", "value", `must be "object" or "array", got ${JSON.stringify(shape)}`);
    const text = c.string(cs, "schema", "plugin.config_schema.schema", true);
    const schema = text === undefined ? undefined : parseSchemaString(c, text, "plugin.config_schema.schema");
    if (schema && (shape === "object" || shape === "array")) contract = { schema, source: "[plugin.config_schema]", shape };
  }
  return contract;
}

/** Sections whose presence asks for a host feature Nexo does not have; key lists follow upstream's schema. */
const REFUSED_WHEN_PRESENT: Array<[key: string, keys: string[], what: string]> = [
  ["poller", ["kinds", "broker_topic_prefix", "lifecycle", "max_concurrent_ticks", "tick_timeout_secs"], "[plugin.poller] (scheduled ticks sent over the broker)"],
  ["admin", ["method_prefix", "broker_topic_prefix", "timeout_seconds"], "[plugin.admin] (admin RPC forwarded over the broker)"],
  ["dashboard", ["layout", "auth_check"], "[plugin.dashboard] (setup-wizard dashboard)"],
  ["pairing", ["kind", "label", "instructions", "fields", "rpc_namespace", "instance_field", "adapter", "trigger"], "[plugin.pairing] (channel pairing UI)"],
];

/**
 * Every other upstream `[plugin.*]` section: validated, then accepted when it
 * asks nothing of the host (disabled, empty, or metadata), refused with rule
 * `unsupported` when it asks for a feature this host lacks. Never ignored.
 */
export function checkOtherSections(c: Checker, plugin: Obj): void {
  c.boolean(plugin, "enabled_by_default", "plugin.enabled_by_default", false);
  for (const [key, keys, what] of REFUSED_WHEN_PRESENT) {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) continue;
    c.onlyKeys(t, `plugin.${key}`, keys);
    c.unsupported(`plugin.${key}`, what);
  }
  const listSection = (key: string, lists: string[], what: string): void => {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) return;
    c.onlyKeys(t, `plugin.${key}`, lists);
    const any = lists.some((l) => (Array.isArray(t[l]) ? (t[l] as unknown[]).length > 0 : isObj(t[l]) ? Object.keys(t[l] as Obj).length > 0 : false));
    if (any) c.unsupported(`plugin.${key}`, what);
  };
  listSection("advisors", ["register"], "[plugin.advisors] (tool advisors)");
  listSection("capability_gates", ["gate"], "[plugin.capability_gates] (setup capability gates)");
  listSection("ui", ["fields"], "[plugin.ui] (admin UI field hints)");
  listSection("contracts", ["provides", "consumes"], "[plugin.contracts] (inter-plugin contracts)");
  for (const key of ["agents", "skills"]) {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) continue;
    c.onlyKeys(t, `plugin.${key}`, key === "agents" ? ["contributes_dir", "allow_override"] : ["contributes_dir"]);
    if (key === "agents") c.boolean(t, "allow_override", "plugin.agents.allow_override", false);
    if (c.string(t, "contributes_dir", `plugin.${key}.contributes_dir`, false) !== undefined) c.unsupported(`plugin.${key}.contributes_dir`, `[plugin.${key}] contributes_dir (${key} contributed by a plugin)`);
  }
  const enabledFlag = (key: string, keys: string[], flag: string, what: string, extra?: (t: Obj) => void): void => {
    const t = c.table(plugin, key, `plugin.${key}`);
    if (!t) return;
    c.onlyKeys(t, `plugin.${key}`, keys);
    extra?.(t);
    if (c.boolean(t, flag, `plugin.${key}.${flag}`, false)) c.unsupported(`plugin.${key}.${flag}`, what);
  };
  enabledFlag("sandbox", ["enabled", "network", "fs_read_paths", "fs_write_paths", "drop_user"], "enabled", "[plugin.sandbox] enabled = true (process sandbox)", (t) => {
    c.oneOf(t, "network", "plugin.sandbox.network", ["deny", "host"], "deny");
    c.stringArray(t, "fs_read_paths", "plugin.sandbox.fs_read_paths");
    c.stringArray(t, "fs_write_paths", "plugin.sandbox.fs_write_paths");
    c.boolean(t, "drop_user", "plugin.sandbox.drop_user", true);
  });
  enabledFlag("credentials_schema", ["enabled", "accounts_shape"], "enabled", "[plugin.credentials_schema] enabled = true (a credential store served by the plugin)", (t) => {
    c.oneOf(t, "accounts_shape", "plugin.credentials_schema.accounts_shape", ["object", "array"], "object");
  });
  enabledFlag("public_tunnel", ["enabled", "close_on_event"], "enabled", "[plugin.public_tunnel] enabled = true (a public internet tunnel)", (t) => {
    c.string(t, "close_on_event", "plugin.public_tunnel.close_on_event", false);
  });
  enabledFlag("metrics", ["prometheus", "broker_topic_prefix", "timeout_seconds"], "prometheus", "[plugin.metrics] prometheus = true (a /metrics scrape over the broker)", (t) => {
    c.string(t, "broker_topic_prefix", "plugin.metrics.broker_topic_prefix", false);
    c.integer(t, "timeout_seconds", "plugin.metrics.timeout_seconds", 1, 3600, 5);
  });
  const meta = c.table(plugin, "meta", "plugin.meta");
  if (meta) {
    c.onlyKeys(meta, "plugin.meta", ["author", "license", "homepage", "repository"]);
    for (const k of ["author", "license", "homepage", "repository"]) c.string(meta, k, `plugin.meta.${k}`, false);
  }
  if (c.table(plugin, "http_server", "plugin.http_server")) {
    c.warnings.push("[plugin.http_server] describes a port the plugin binds by itself; like upstream, the host neither binds, checks nor proxies it");
  }
  if (plugin.conformance !== undefined) {
    c.warnings.push("[plugin.conformance] in the manifest is deprecated: move it to nexo-conformance.toml beside the manifest (upstream hosts refuse unknown sections)");
  }
}

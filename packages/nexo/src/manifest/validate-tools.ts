import { resolve } from "node:path";
import { isObj, typeName, type Checker, type Obj } from "./checker.js";
import { parseSchemaString, readJsonObject } from "./schema-files.js";
import type { PluginManifest, ToolExpose, ToolOutbound } from "./types.js";

const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Default JSON-RPC method of an upstream `[[plugin.tools.outbound]]` tool. */
export const OUTBOUND_TOOL_METHOD = "outbound_tool.invoke";

/**
 * `[plugin.tools]`: `expose` as tool names (upstream) or tables with a schema
 * file (docs/manifest.md), `deferred` (a subset of expose), and
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
    if (schema.type !== undefined && schema.type !== "object")
      return c.add(`${field}.schema_path`, "schema_object", `a tool's input schema must have type "object", got ${JSON.stringify(schema.type)}`);
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

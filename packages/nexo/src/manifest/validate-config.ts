import { join } from "node:path";
import type { Checker, Obj } from "./checker.js";
import { parseSchemaString, readJsonObject } from "./schema-files.js";
import type { PluginConfigContract } from "./types.js";

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

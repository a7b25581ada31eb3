import { isAbsolute, relative, resolve } from "node:path";
import { isObj, type Checker, type Obj } from "./checker.js";
import { PluginFileError, readPluginFile } from "./read-plugin-file.js";

/**
 * Read a JSON file of the plugin (a tool's or the config's schema) through
 * the safe reader. Adds a violation and returns undefined on any problem; the
 * message names the path, never the content (a schema_path symlinked to
 * /etc/passwd must not print /etc/passwd).
 */
export function readJsonObject(c: Checker, dir: string, path: string, field: string): Obj | undefined {
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
export function parseSchemaString(c: Checker, text: string, field: string): Obj | undefined {
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

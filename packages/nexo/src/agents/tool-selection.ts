import type { ToolInfo } from "../app/index.js";
import type { ChatToolDef } from "../llm/index.js";
import { compileGlobs } from "../util/index.js";

/** The model-facing name of a tool: vendors accept `^[a-zA-Z0-9_-]{1,64}$`. */
function modelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "tool";
}

/** The tools an agent may use now, as offered to the model, and the map back to their names in the app. */
export interface SelectedTools {
  defs: ChatToolDef[];
  /** Model-facing name -> the app's tool name. */
  names: Map<string, string>;
}

/**
 * The callable tools matching any of `patterns`, in the app's order. Names
 * the vendors refuse (dots of instance keys and workflow names) are rewritten
 * and made unique; the map turns a call back into the real name.
 */
export function selectTools(tools: readonly ToolInfo[], patterns: readonly string[]): SelectedTools {
  // Tool names by glob: `*` any run of characters, `?` exactly one.
  const matches = compileGlobs(patterns);
  const defs: ChatToolDef[] = [];
  const names = new Map<string, string>();
  for (const t of tools) {
    if (!matches(t.name)) continue;
    let name = modelName(t.name);
    for (let i = 2; names.has(name); i++) name = `${modelName(t.name).slice(0, 60)}_${i}`;
    names.set(name, t.name);
    defs.push({ name, description: t.description || t.name, parameters: t.inputSchema });
  }
  return { defs, names };
}

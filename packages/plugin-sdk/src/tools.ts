/** A tool the plugin serves, advertised in the `initialize` result. */
export interface ToolDef {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

/** The params of `tool.invoke`. */
export interface ToolInvocation {
  plugin_id: string;
  tool_name: string;
  args: Record<string, unknown>;
  agent_id: string | null;
}

/** The usual tool result shape. */
export interface ToolResult {
  content: Array<{ type: "text"; text: string } | { type: string; [k: string]: unknown }>;
  is_error: boolean;
}

/** `{content: [{type: "text", text}], is_error}`. @example return textResult(`sent ${id}`) */
export function textResult(text: string, isError = false): ToolResult {
  return { content: [{ type: "text", text }], is_error: isError };
}

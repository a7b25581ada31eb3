import type { Event } from "./event.js";

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
  args: Record<string, any>;
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

/** Handles one call of a topic-form tool (seed 000 pattern 3); its return value becomes `{result}` on the reply topic. */
export type TopicToolHandler = (args: any, event: Event) => unknown | Promise<unknown>;

/** The topic a topic-form tool call is answered on: `plugin.tool.<name>` -> `plugin.tool.<name>.reply`. @example replyTopic("plugin.tool.stripe.create_invoice") */
export function replyTopic(topic: string): string {
  return `${topic}.reply`;
}

/** The topic a topic-form tool is called on. @example toolTopic("stripe.create_invoice") === "plugin.tool.stripe.create_invoice" */
export function toolTopic(name: string): string {
  return `plugin.tool.${name}`;
}

import type { Event } from "./event.js";
import type { BrokerSender } from "./host-calls.js";

/**
 * A tool the plugin serves, advertised in the `initialize` result. Its
 * schema is `inputSchema`, sent as `input_schema` (`{}` when absent); the
 * name must be listed in the manifest's `[plugin.extends].tools`.
 */
export interface ToolDef {
  name: string;
  description: string;
  /** JSON Schema of the arguments. Default `{}` (anything). */
  inputSchema?: Record<string, unknown>;
  /** @deprecated The wire spelling; use `inputSchema`. Used when `inputSchema` is absent. */
  input_schema?: Record<string, unknown>;
}

/** One `tool.invoke`. `args` is the JSON the caller sent, as sent (null when omitted). */
export interface ToolInvocation {
  pluginId: string;
  toolName: string;
  args: any;
  /** The calling agent, undefined when the host sent none. */
  agentId?: string;
  /** @deprecated Use `pluginId`. */
  plugin_id: string;
  /** @deprecated Use `toolName`. */
  tool_name: string;
  /** @deprecated Use `agentId` (this one is null when absent). */
  agent_id: string | null;
}

/** What a tool handler gets besides the invocation. */
export interface ToolContext {
  /** Publish and call host services from inside the tool. */
  broker: BrokerSender;
  /** `[plugin].id` of the manifest. */
  pluginId: string;
  /** Aborted when the plugin starts shutting down. */
  signal: AbortSignal;
}

/** A `tool.invoke` handler, sync or async; its return value is the result. */
export type ToolHandler = (inv: ToolInvocation) => unknown | Promise<unknown>;
/** A `tool.invoke` handler that also gets the broker and the plugin id. */
export type ToolHandlerWithContext = (inv: ToolInvocation, ctx: ToolContext) => unknown | Promise<unknown>;

/** The wire form of a ToolDef in the `initialize` result. */
export function toolDefToJson(t: ToolDef): { name: string; description: string; input_schema: Record<string, unknown> } {
  return { name: t.name, description: t.description, input_schema: t.inputSchema ?? t.input_schema ?? {} };
}

/** The usual tool result shape. */
export interface ToolResult {
  content: Array<{ type: "text"; text: string } | { type: string; [k: string]: unknown }>;
  is_error: boolean;
}

/** `{content: [{type: "text", text}], is_error}`. @example return textResult(`sent ${id}`) */
export function textResult(text: string, isError = false): { content: { type: "text"; text: string }[]; is_error: boolean } {
  return { content: [{ type: "text", text }], is_error: isError };
}

/** Handles one call of a topic-form tool (docs/writing-plugins.md, Tools); its return value becomes `{result}` on the reply topic. */
export type TopicToolHandler = (args: any, event: Event) => unknown | Promise<unknown>;

/** The topic a topic-form tool call is answered on: `plugin.tool.<name>` -> `plugin.tool.<name>.reply`. @example replyTopic("plugin.tool.stripe.create_invoice") */
export function replyTopic(topic: string): string {
  return `${topic}.reply`;
}

/** The topic a topic-form tool is called on. @example toolTopic("stripe.create_invoice") === "plugin.tool.stripe.create_invoice" */
export function toolTopic(name: string): string {
  return `plugin.tool.${name}`;
}

import type { Event } from "./event.js";

/** Every method name of the wire contract (docs/contract.md). */
export const Methods = {
  INITIALIZE: "initialize",
  SHUTDOWN: "shutdown",
  PLUGIN_CONFIGURE: "plugin.configure",
  BROKER_EVENT: "broker.event",
  BROKER_PUBLISH: "broker.publish",
  BROKER_SUBSCRIBE: "broker.subscribe",
  BROKER_UNSUBSCRIBE: "broker.unsubscribe",
  TOOL_INVOKE: "tool.invoke",
  MEMORY_RECALL: "memory.recall",
  LLM_COMPLETE: "llm.complete",
  LLM_COMPLETE_DELTA: "llm.complete.delta",
  CHANNEL_START: "channel.start",
  CHANNEL_STOP: "channel.stop",
  CHANNEL_SEND_OUTBOUND: "channel.send_outbound",
  LLM_CHAT: "llm.chat",
  LLM_CHAT_DELTA: "llm.chat.delta",
  HOOK_ON_HOOK: "hook.on_hook",
  MEMORY_VECTOR_UPSERT: "memory.vector_upsert",
  MEMORY_VECTOR_SEARCH: "memory.vector_search",
  MEMORY_VECTOR_DELETE: "memory.vector_delete",
} as const;

export interface InitializeParams {
  nexo_version?: string;
}
export interface ToolCatalogueEntry {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}
export interface InitializeResult {
  manifest: Record<string, unknown>;
  server_version: string;
  tools?: ToolCatalogueEntry[];
}
export interface ConfigureParams {
  value: unknown;
}
export interface ShutdownParams {
  reason: string;
}
export interface BrokerEventParams {
  topic: string;
  event: Event;
  subscriber_id?: string;
}
export interface BrokerPublishParams {
  topic: string;
  event: Partial<Event>;
}
export interface BrokerSubscribeParams {
  topic_pattern: string;
}
export interface ToolInvokeParams {
  plugin_id: string;
  tool_name: string;
  args: unknown;
  agent_id: string | null;
}
export interface ToolResult {
  content: Array<{ type: string; text?: string; [k: string]: unknown }>;
  is_error?: boolean;
}

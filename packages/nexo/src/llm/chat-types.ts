/**
 * The contract's `llm.chat` shapes (what a host sends an LLM provider plugin,
 * and what Nexo's own providers take for tool calling). Field names are the
 * wire's: snake_case, tagged unions on `type` / `kind`.
 */

/** One message of a chat; `tool` messages carry a tool's result for `tool_call_id`. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** On a `tool` message: the call it answers. */
  tool_call_id?: string;
  /** On a `tool` message: the tool's name. */
  name?: string;
  /** On an `assistant` message: the calls the model asked for. */
  tool_calls?: ChatToolCall[];
}

/** A tool offered to the model: `parameters` is its JSON Schema. */
export interface ChatToolDef {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A call the model asked for; `arguments` is parsed JSON. */
export interface ChatToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

export type ChatToolChoice = { kind: "auto" } | { kind: "any" } | { kind: "none" } | { kind: "specific"; name: string };

/** `llm.chat` params' `request`. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatToolDef[];
  max_tokens: number;
  temperature: number;
  system_prompt?: string;
  stop_sequences?: string[];
  tool_choice?: ChatToolChoice;
}

export type ChatContent = { type: "text"; text: string } | { type: "tool_calls"; tool_calls: ChatToolCall[] };

export type ChatFinishReason = { kind: "stop" } | { kind: "tool_use" } | { kind: "length" } | { kind: "other"; reason: string };

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** `llm.chat` result. */
export interface ChatResponse {
  content: ChatContent;
  usage: ChatUsage;
  finish_reason: ChatFinishReason;
}

/** A streamed piece of an `llm.chat` answer (`llm.chat.delta {request_id, chunk}`). */
export type ChatStreamChunk =
  | { type: "text_delta"; delta: string }
  | { type: "tool_call_start"; id: string; name: string }
  | { type: "tool_call_args_delta"; id: string; delta: string }
  | { type: "tool_call_end"; id: string }
  | { type: "usage"; usage: ChatUsage }
  | { type: "end"; finish_reason: ChatFinishReason };

/** A chat request before its provider's defaults are applied (`app.llm.chat`). */
export interface ChatInput {
  provider?: string;
  model?: string;
  messages: ChatMessage[];
  tools?: ChatToolDef[];
  max_tokens?: number;
  temperature?: number;
  system_prompt?: string;
  tool_choice?: ChatToolChoice;
}

/** The contract's finish reason in `llm.complete`'s words. */
export function finishReasonText(f: ChatFinishReason): string {
  switch (f.kind) {
    case "stop":
      return "stop";
    case "tool_use":
      return "tool_calls";
    case "length":
      return "length";
    default:
      return f.reason === "content_filter" ? "content_filter" : "other";
  }
}

/** The text of an answer ("" when the model asked for tools instead). */
export function chatText(r: ChatResponse): string {
  return r.content.type === "text" ? r.content.text : "";
}

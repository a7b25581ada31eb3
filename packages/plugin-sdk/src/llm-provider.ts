import { PluginError } from "./errors.js";

/** A chat message of `llm.chat`; `tool` messages answer `tool_call_id`. */
export interface LlmChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  tool_call_id?: string;
  name?: string;
  tool_calls?: LlmToolCall[];
}

/** A tool call the model asks for; `arguments` is parsed JSON. */
export interface LlmToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

/** `llm.chat` params' `request` (the contract's wire shape). */
export interface LlmChatRequest {
  model: string;
  messages: LlmChatMessage[];
  tools?: Array<{ name: string; description: string; parameters: Record<string, unknown> }>;
  max_tokens: number;
  temperature: number;
  system_prompt?: string;
  stop_sequences?: string[];
  tool_choice?: { kind: "auto" | "any" | "none" } | { kind: "specific"; name: string };
}

/** `llm.chat` params. */
export interface LlmChatParams {
  provider: string;
  model: string;
  stream: boolean;
  request: LlmChatRequest;
}

/** Usage in the wire's words. */
export interface LlmChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export type LlmFinishReason = { kind: "stop" } | { kind: "tool_use" } | { kind: "length" } | { kind: "other"; reason: string };

/** What an `onLlmChat` handler returns: text or tool calls. */
export interface LlmChatResponse {
  content: { type: "text"; text: string } | { type: "tool_calls"; tool_calls: LlmToolCall[] };
  usage: LlmChatUsage;
  finish_reason: LlmFinishReason;
}

/** One streamed piece (`llm.chat.delta {request_id, chunk}`). */
export type LlmChatChunk =
  | { type: "text_delta"; delta: string }
  | { type: "tool_call_start"; id: string; name: string }
  | { type: "tool_call_args_delta"; id: string; delta: string }
  | { type: "tool_call_end"; id: string }
  | { type: "usage"; usage: LlmChatUsage }
  | { type: "end"; finish_reason: LlmFinishReason };

/** What an `onLlmChat` handler gets besides the params. */
export interface LlmChatContext {
  /** True when the host asked for a stream: send chunks with `emit`, then return the final response. */
  stream: boolean;
  /** Send one chunk as `llm.chat.delta` ahead of the reply (ignored when `stream` is false). */
  emit(chunk: LlmChatChunk): void;
  /** Aborted when the plugin shuts down. */
  signal: AbortSignal;
}

/** Serves `llm.chat` for the providers of `[plugin.extends].llm_providers`. */
export type LlmChatHandler = (params: LlmChatParams, ctx: LlmChatContext) => LlmChatResponse | Promise<LlmChatResponse>;

/** The contract's LLM error codes (-331xx). */
export const LlmErrorCodes = {
  CONNECTION: -33101,
  AUTHENTICATION: -33102,
  INVALID_REQUEST: -33103,
  RATE_LIMITED: -33104,
  UNSUPPORTED: -33105,
} as const;

/**
 * Throw from an `onLlmChat` handler to answer with a -331xx code (e.g. the
 * vendor said 429: `new LlmProviderError(LlmErrorCodes.RATE_LIMITED, "...", {retry_after_ms})`).
 * Anything else thrown answers -33101 with its message.
 */
export class LlmProviderError extends PluginError {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "LlmProviderError";
  }
}

/** A text answer with usage, the usual return value of a handler. */
export function llmText(text: string, usage: Partial<LlmChatUsage> = {}): LlmChatResponse {
  return { content: { type: "text", text }, usage: { prompt_tokens: usage.prompt_tokens ?? 0, completion_tokens: usage.completion_tokens ?? 0 }, finish_reason: { kind: "stop" } };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `llm.chat` params checked; a string naming the problem when they are wrong. */
export function checkLlmChatParams(params: unknown): LlmChatParams | string {
  if (!isObj(params)) return "llm.chat params must be an object {provider, model, stream, request}";
  if (typeof params.provider !== "string") return "llm.chat params.provider must be a string";
  if (!isObj(params.request) || !Array.isArray(params.request.messages)) return "llm.chat params.request must be an object with messages";
  const request = params.request as unknown as LlmChatRequest;
  return {
    provider: params.provider,
    model: typeof params.model === "string" ? params.model : typeof request.model === "string" ? request.model : "",
    stream: params.stream === true,
    request,
  };
}

/** The error reply for what a handler threw. */
export function llmErrorReply(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof LlmProviderError) return err.data === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, data: err.data };
  return { code: LlmErrorCodes.CONNECTION, message: err instanceof Error ? err.message : String(err) };
}

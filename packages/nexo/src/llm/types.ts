import type { ChatRequest, ChatResponse } from "./chat-types.js";

/** Wire protocol a provider speaks (`plugin`: an LLM provider plugin, over `llm.chat`). */
export type LlmProviderKind = "openai" | "anthropic" | "plugin";

/** One provider of `llm.providers.<name>` in nexo.yaml. */
export interface LlmProviderConfig {
  kind: "openai" | "anthropic";
  /** Endpoint root, e.g. `https://api.openai.com/v1` or a local Ollama `http://127.0.0.1:11434/v1`. Default: the vendor's. */
  baseUrl?: string;
  /** Model used when a request names none. */
  model?: string;
  /** NAME of the environment variable holding the API key (the key itself never appears in config or logs). */
  apiKeyEnv?: string;
  /** Deadline of one HTTP attempt. Default 60,000 ms. */
  timeoutMs?: number;
  /** Retries on connection errors, 408, 409, 429 and 5xx, honouring Retry-After. Default 2. */
  maxRetries?: number;
}

/** The `llm:` section: providers by name; `default` names the one used when a request names none (else the first). */
export interface LlmConfig {
  providers: Record<string, LlmProviderConfig>;
  default?: string;
  /** Longest answer taken from a provider (text, or tool calls as JSON), streamed or not; a longer one fails with -33103 `answer_too_large`. Default 1,048,576. */
  maxAnswerChars?: number;
}

/** One chat message as the contract carries it. */
export interface LlmMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** `llm.complete` params (contract: max_tokens 4096, temperature 0.7 by default). */
export interface LlmCompleteRequest {
  provider?: string;
  model?: string;
  messages: LlmMessage[];
  max_tokens?: number;
  temperature?: number;
  system_prompt?: string;
  stream?: boolean;
}

export interface LlmUsage {
  input_tokens: number;
  output_tokens: number;
}

/** `llm.complete` result; `finish_reason` is the vendor's, normalized to stop | length | tool_calls | content_filter | other. */
export interface LlmCompleteResult {
  content: string;
  finish_reason: string;
  usage: LlmUsage;
}

/** A streamed piece, sent to plugins as `llm.complete.delta {request_id, chunk}`. */
export interface LlmTextDelta {
  type: "text_delta";
  text: string;
}

/** A request resolved against its provider's defaults. */
export interface ResolvedLlmRequest {
  model: string;
  messages: LlmMessage[];
  maxTokens: number;
  temperature: number;
  systemPrompt?: string;
}

/** A configured provider client. `onDelta` set = streamed over SSE. */
export interface LlmProvider {
  readonly name: string;
  readonly kind: LlmProviderKind;
  readonly defaultModel?: string;
  complete(req: ResolvedLlmRequest, onDelta?: (chunk: LlmTextDelta) => void, signal?: AbortSignal): Promise<LlmCompleteResult>;
  /** One chat turn with tool calling. */
  chat(req: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
}

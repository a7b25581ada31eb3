import OpenAI from "openai";
import type { ChatFinishReason, ChatMessage, ChatRequest, ChatResponse, ChatToolCall } from "./chat-types.js";
import type { LlmCompleteResult, LlmProvider, LlmTextDelta, ResolvedLlmRequest } from "./types.js";
import type { ProviderClientOptions } from "./provider-options.js";

/** Chat Completions finish reasons as the contract reports them. */
function finishReason(raw: string | null | undefined): string {
  if (raw === "stop" || raw === "length" || raw === "tool_calls" || raw === "content_filter") return raw;
  return raw ? "other" : "stop";
}

/** Tool call arguments as the model wrote them: parsed JSON, or the raw text when it is not JSON (the caller reports that back). */
export function parseArguments(raw: string | undefined): unknown {
  if (raw === undefined || raw.trim() === "") return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function chatFinish(raw: string | null | undefined): ChatFinishReason {
  if (raw === "tool_calls" || raw === "function_call") return { kind: "tool_use" };
  if (raw === "length") return { kind: "length" };
  if (raw === "stop" || !raw) return { kind: "stop" };
  return { kind: "other", reason: raw };
}

function toOpenAIMessage(m: ChatMessage): OpenAI.Chat.ChatCompletionMessageParam {
  if (m.role === "tool") return { role: "tool", tool_call_id: m.tool_call_id ?? "", content: m.content };
  if (m.role === "assistant" && m.tool_calls?.length) {
    return {
      role: "assistant",
      content: m.content || null,
      tool_calls: m.tool_calls.map((c) => ({
        id: c.id,
        type: "function" as const,
        function: { name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {}) },
      })),
    };
  }
  return { role: m.role, content: m.content } as OpenAI.Chat.ChatCompletionMessageParam;
}

/**
 * An OpenAI-compatible Chat Completions provider (OpenAI, Ollama, vLLM, LM
 * Studio...) through the official SDK, which retries 408/409/429/5xx and
 * connection errors with backoff honouring Retry-After.
 */
export class OpenAIProvider implements LlmProvider {
  readonly kind = "openai" as const;
  readonly defaultModel?: string;
  private readonly client: OpenAI;

  constructor(
    readonly name: string,
    options: ProviderClientOptions,
  ) {
    if (options.model !== undefined) this.defaultModel = options.model;
    this.client = new OpenAI({
      // Local servers (Ollama, vLLM) take no key, but the SDK insists on one.
      apiKey: options.apiKey ?? "unused",
      baseURL: options.baseUrl ?? "https://api.openai.com/v1",
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
      // The SDK's own console logging could print request details; Nexo logs what matters itself.
      logLevel: "off",
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** One chat turn with tool calling (not streamed). */
  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
    if (req.system_prompt) messages.push({ role: "system", content: req.system_prompt });
    for (const m of req.messages) messages.push(toOpenAIMessage(m));
    const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = { model: req.model, messages, max_tokens: req.max_tokens, temperature: req.temperature };
    if (req.stop_sequences?.length) body.stop = req.stop_sequences;
    if (req.tools?.length) {
      body.tools = req.tools.map((t) => ({ type: "function" as const, function: { name: t.name, description: t.description, parameters: t.parameters } }));
      const choice = req.tool_choice;
      if (choice) {
        body.tool_choice = choice.kind === "specific" ? { type: "function", function: { name: choice.name } } : choice.kind === "any" ? "required" : choice.kind;
      }
    }
    const res = await this.client.chat.completions.create(body, signal ? { signal } : {});
    const choice = res.choices[0];
    const usage = { prompt_tokens: res.usage?.prompt_tokens ?? 0, completion_tokens: res.usage?.completion_tokens ?? 0 };
    const calls: ChatToolCall[] = (choice?.message?.tool_calls ?? []).flatMap((c) =>
      c.type === "function" ? [{ id: c.id, name: c.function.name, arguments: parseArguments(c.function.arguments) }] : [],
    );
    if (calls.length > 0) return { content: { type: "tool_calls", tool_calls: calls }, usage, finish_reason: { kind: "tool_use" } };
    return { content: { type: "text", text: choice?.message?.content ?? "" }, usage, finish_reason: chatFinish(choice?.finish_reason) };
  }

  async complete(req: ResolvedLlmRequest, onDelta?: (chunk: LlmTextDelta) => void, signal?: AbortSignal): Promise<LlmCompleteResult> {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
    if (req.systemPrompt) messages.push({ role: "system", content: req.systemPrompt });
    for (const m of req.messages) messages.push({ role: m.role, content: m.content } as OpenAI.Chat.ChatCompletionMessageParam);
    const body = { model: req.model, messages, max_tokens: req.maxTokens, temperature: req.temperature };
    const opts = signal ? { signal } : {};
    if (!onDelta) {
      const res = await this.client.chat.completions.create({ ...body, stream: false }, opts);
      const choice = res.choices[0];
      return {
        content: choice?.message?.content ?? "",
        finish_reason: finishReason(choice?.finish_reason),
        usage: { input_tokens: res.usage?.prompt_tokens ?? 0, output_tokens: res.usage?.completion_tokens ?? 0 },
      };
    }
    const stream = await this.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, opts);
    let content = "";
    let finish: string | null | undefined;
    const usage = { input_tokens: 0, output_tokens: 0 };
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      const text = choice?.delta?.content;
      if (text) {
        content += text;
        onDelta({ type: "text_delta", text });
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) {
        usage.input_tokens = chunk.usage.prompt_tokens;
        usage.output_tokens = chunk.usage.completion_tokens;
      }
    }
    return { content, finish_reason: finishReason(finish), usage };
  }
}

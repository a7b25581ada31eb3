import OpenAI from "openai";
import type { LlmCompleteResult, LlmProvider, LlmTextDelta, ResolvedLlmRequest } from "./types.js";
import type { ProviderClientOptions } from "./provider-options.js";

/** Chat Completions finish reasons as the contract reports them. */
function finishReason(raw: string | null | undefined): string {
  if (raw === "stop" || raw === "length" || raw === "tool_calls" || raw === "content_filter") return raw;
  return raw ? "other" : "stop";
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

  constructor(readonly name: string, options: ProviderClientOptions) {
    if (options.model !== undefined) this.defaultModel = options.model;
    this.client = new OpenAI({
      // Local servers (Ollama, vLLM) take no key, but the SDK insists on one.
      apiKey: options.apiKey ?? "unused",
      baseURL: options.baseUrl ?? "https://api.openai.com/v1",
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
      // The SDK's own console logging could print request details; Nexo logs what matters itself.
      logLevel: "off",
    });
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

import Anthropic from "@anthropic-ai/sdk";
import type { LlmCompleteResult, LlmProvider, LlmTextDelta, ResolvedLlmRequest } from "./types.js";
import type { ProviderClientOptions } from "./provider-options.js";

/** Anthropic stop reasons in the contract's (OpenAI-style) words. */
function finishReason(raw: string | null | undefined): string {
  switch (raw) {
    case "end_turn":
    case "stop_sequence":
    case null:
    case undefined:
      return "stop";
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "other";
  }
}

/**
 * An Anthropic Messages provider through the official SDK (retries 408/409/
 * 429/5xx and connection errors, honouring Retry-After). The system prompt
 * travels in `system`, as that API wants; system-role messages join it.
 */
export class AnthropicProvider implements LlmProvider {
  readonly kind = "anthropic" as const;
  readonly defaultModel?: string;
  private readonly client: Anthropic;

  constructor(readonly name: string, options: ProviderClientOptions) {
    if (options.model !== undefined) this.defaultModel = options.model;
    this.client = new Anthropic({
      // Only the configured key: null keeps the SDK from reading ANTHROPIC_* variables or credential files instead.
      apiKey: options.apiKey ?? null,
      authToken: null,
      baseURL: options.baseUrl ?? "https://api.anthropic.com",
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
      logLevel: "off",
    });
  }

  async complete(req: ResolvedLlmRequest, onDelta?: (chunk: LlmTextDelta) => void, signal?: AbortSignal): Promise<LlmCompleteResult> {
    const system = [req.systemPrompt ?? "", ...req.messages.filter((m) => m.role === "system").map((m) => m.content)].filter((s) => s.length > 0).join("\n\n");
    const messages = req.messages.filter((m) => m.role !== "system").map((m) => ({ role: m.role as "user" | "assistant", content: m.content }));
    const body = { model: req.model, messages, max_tokens: req.maxTokens, temperature: req.temperature, ...(system ? { system } : {}) };
    const opts = signal ? { signal } : {};
    if (!onDelta) {
      const res = await this.client.messages.create({ ...body, stream: false }, opts);
      const content = res.content.map((b) => (b.type === "text" ? b.text : "")).join("");
      return { content, finish_reason: finishReason(res.stop_reason), usage: { input_tokens: res.usage.input_tokens, output_tokens: res.usage.output_tokens } };
    }
    const stream = await this.client.messages.create({ ...body, stream: true }, opts);
    let content = "";
    let stop: string | null | undefined;
    const usage = { input_tokens: 0, output_tokens: 0 };
    for await (const ev of stream) {
      if (ev.type === "message_start") {
        usage.input_tokens = ev.message.usage.input_tokens;
        usage.output_tokens = ev.message.usage.output_tokens;
      } else if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") {
        content += ev.delta.text;
        onDelta({ type: "text_delta", text: ev.delta.text });
      } else if (ev.type === "message_delta") {
        stop = ev.delta.stop_reason;
        usage.output_tokens = ev.usage.output_tokens;
      }
    }
    return { content, finish_reason: finishReason(stop), usage };
  }
}

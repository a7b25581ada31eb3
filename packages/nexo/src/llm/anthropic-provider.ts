import Anthropic from "@anthropic-ai/sdk";
import type { ChatFinishReason, ChatMessage, ChatRequest, ChatResponse, ChatToolCall } from "./chat-types.js";
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

function chatFinish(raw: string | null | undefined): ChatFinishReason {
  if (raw === "tool_use") return { kind: "tool_use" };
  if (raw === "max_tokens") return { kind: "length" };
  if (raw === "end_turn" || raw === "stop_sequence" || !raw) return { kind: "stop" };
  return { kind: "other", reason: raw };
}

/**
 * The chat in the Messages API's form: tool results travel as `tool_result`
 * blocks of a user turn (consecutive ones merged into one turn, as the API
 * requires alternating roles), tool calls as `tool_use` blocks.
 */
function toAnthropicMessages(messages: readonly ChatMessage[]): Anthropic.MessageParam[] {
  const out: Anthropic.MessageParam[] = [];
  for (const m of messages) {
    if (m.role === "system") continue;
    if (m.role === "tool") {
      const block: Anthropic.ToolResultBlockParam = { type: "tool_result", tool_use_id: m.tool_call_id ?? "", content: m.content };
      const last = out[out.length - 1];
      if (last && last.role === "user" && Array.isArray(last.content) && last.content.every((b) => b.type === "tool_result")) last.content.push(block);
      else out.push({ role: "user", content: [block] });
      continue;
    }
    if (m.role === "assistant" && m.tool_calls?.length) {
      const blocks: Anthropic.ContentBlockParam[] = m.content ? [{ type: "text", text: m.content }] : [];
      for (const c of m.tool_calls) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: typeof c.arguments === "object" && c.arguments !== null ? c.arguments : {} });
      out.push({ role: "assistant", content: blocks });
      continue;
    }
    out.push({ role: m.role, content: m.content });
  }
  return out;
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

  constructor(
    readonly name: string,
    options: ProviderClientOptions,
  ) {
    if (options.model !== undefined) this.defaultModel = options.model;
    this.client = new Anthropic({
      // Only the configured key: null keeps the SDK from reading ANTHROPIC_* variables or credential files instead.
      apiKey: options.apiKey ?? null,
      authToken: null,
      baseURL: options.baseUrl ?? "https://api.anthropic.com",
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
      logLevel: "off",
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** One chat turn with tool calling (not streamed). */
  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const system = [req.system_prompt ?? "", ...req.messages.filter((m) => m.role === "system").map((m) => m.content)].filter((s) => s.length > 0).join("\n\n");
    const tools = req.tools?.map((t) => ({ name: t.name, description: t.description, input_schema: { type: "object" as const, ...t.parameters } }));
    const choice = req.tool_choice;
    const toolChoice = choice && tools?.length ? (choice.kind === "specific" ? { type: "tool" as const, name: choice.name } : { type: choice.kind }) : undefined;
    // Built as a plain object like complete()'s: the SDK's types no longer list every field the API takes.
    const body = {
      model: req.model,
      messages: toAnthropicMessages(req.messages),
      max_tokens: req.max_tokens,
      temperature: req.temperature,
      ...(system ? { system } : {}),
      ...(req.stop_sequences?.length ? { stop_sequences: req.stop_sequences } : {}),
      ...(tools?.length ? { tools } : {}),
      ...(toolChoice ? { tool_choice: toolChoice } : {}),
    };
    const res = await this.client.messages.create({ ...body, stream: false } as Anthropic.Messages.MessageCreateParamsNonStreaming, signal ? { signal } : {});
    const usage = { prompt_tokens: res.usage.input_tokens, completion_tokens: res.usage.output_tokens };
    const calls: ChatToolCall[] = res.content.flatMap((b) => (b.type === "tool_use" ? [{ id: b.id, name: b.name, arguments: b.input }] : []));
    if (calls.length > 0) return { content: { type: "tool_calls", tool_calls: calls }, usage, finish_reason: { kind: "tool_use" } };
    const text = res.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    return { content: { type: "text", text }, usage, finish_reason: chatFinish(res.stop_reason) };
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

import { RpcError, RpcErrorCodes, Methods } from "../contract/index.js";
import { envMs } from "../host/index.js";
import type { ChatFinishReason, ChatRequest, ChatResponse, ChatStreamChunk, ChatUsage } from "./chat-types.js";
import { finishReasonText } from "./chat-types.js";
import type { LlmCompleteResult, LlmProvider, LlmTextDelta, ResolvedLlmRequest } from "./types.js";

/** The part of a plugin supervisor a provider needs (requests to the plugin, fail-fast when it is down). */
export interface LlmPluginPeer {
  readonly key: string;
  call(method: string, params: unknown, timeoutMs: number): Promise<unknown>;
  callStreaming(method: string, params: unknown, timeoutMs: number, deltaMethod: string, onDelta: (chunk: unknown) => void, signal?: AbortSignal): Promise<unknown>;
}

/** `llm.chat` deadlines: 60 s plain, 300 s streamed; NEXO_PLUGIN_LLM_TIMEOUT_MS sets both (the contract's). */
export function pluginLlmTimeouts(): { chatMs: number; streamMs: number } {
  const both = envMs("NEXO_PLUGIN_LLM_TIMEOUT_MS", 0);
  return both > 0 ? { chatMs: both, streamMs: both } : { chatMs: 60_000, streamMs: 300_000 };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function bad(provider: string, what: string): RpcError {
  return new RpcError(RpcErrorCodes.LLM_INVALID_REQUEST, `LLM provider plugin ${provider} answered llm.chat with ${what}`, { provider });
}

function parseUsage(v: unknown): ChatUsage {
  const u = isObj(v) ? v : {};
  const n = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) ? x : 0);
  return { prompt_tokens: n(u.prompt_tokens), completion_tokens: n(u.completion_tokens) };
}

function parseFinish(v: unknown): ChatFinishReason {
  if (!isObj(v) || typeof v.kind !== "string") return { kind: "stop" };
  if (v.kind === "stop" || v.kind === "tool_use" || v.kind === "length") return { kind: v.kind };
  return { kind: "other", reason: typeof v.reason === "string" ? v.reason : v.kind };
}

/** A plugin's `llm.chat` result checked: content text or tool calls, usage and finish reason defaulted. */
export function parseChatResponse(provider: string, v: unknown): ChatResponse {
  if (!isObj(v)) throw bad(provider, "a result that is not an object");
  const c = v.content;
  const usage = parseUsage(v.usage);
  const finish_reason = parseFinish(v.finish_reason);
  if (isObj(c) && c.type === "text" && typeof c.text === "string") return { content: { type: "text", text: c.text }, usage, finish_reason };
  if (isObj(c) && c.type === "tool_calls" && Array.isArray(c.tool_calls)) {
    const calls = c.tool_calls.map((t, i) => {
      if (!isObj(t) || typeof t.id !== "string" || typeof t.name !== "string") throw bad(provider, `tool_calls[${i}] without a string id and name`);
      return { id: t.id, name: t.name, arguments: t.arguments ?? {} };
    });
    return { content: { type: "tool_calls", tool_calls: calls }, usage, finish_reason };
  }
  throw bad(provider, "no content {type: text, text} or {type: tool_calls, tool_calls}");
}

/**
 * `call`, or the reason `signal` gives as soon as it aborts. The plugin's request
 * stays pending until it answers or its deadline passes; what it still streams
 * for it is dropped on arrival, so nothing more is kept.
 */
function untilAborted<T>(call: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return call;
  if (signal.aborted) {
    call.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    call.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * A provider served by a subprocess plugin that lists it in
 * `[plugin.extends].llm_providers`: each request is an `llm.chat {provider,
 * model, stream, request}` to the plugin; a streamed one gets its text from
 * `llm.chat.delta {request_id, chunk}` notifications before the reply.
 */
export class PluginLlmProvider implements LlmProvider {
  readonly kind = "plugin" as const;

  constructor(
    readonly name: string,
    private readonly peer: LlmPluginPeer,
    private readonly timeouts = pluginLlmTimeouts(),
    readonly defaultModel?: string,
  ) {}

  /** Key of the plugin serving it. */
  get pluginKey(): string {
    return this.peer.key;
  }

  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const result = await untilAborted(this.peer.call(Methods.LLM_CHAT, { provider: this.name, model: req.model, stream: false, request: req }, this.timeouts.chatMs), signal);
    return parseChatResponse(this.name, result);
  }

  async complete(req: ResolvedLlmRequest, onDelta?: (chunk: LlmTextDelta) => void, signal?: AbortSignal): Promise<LlmCompleteResult> {
    const request: ChatRequest = {
      model: req.model,
      messages: req.messages,
      max_tokens: req.maxTokens,
      temperature: req.temperature,
      ...(req.systemPrompt ? { system_prompt: req.systemPrompt } : {}),
    };
    if (!onDelta) {
      const r = await this.chat(request, signal);
      if (r.content.type !== "text") throw bad(this.name, "tool calls to a request that offered no tools");
      return {
        content: r.content.text,
        finish_reason: finishReasonText(r.finish_reason),
        usage: { input_tokens: r.usage.prompt_tokens, output_tokens: r.usage.completion_tokens },
      };
    }
    let text = "";
    let usage: ChatUsage | undefined;
    let finish: ChatFinishReason | undefined;
    const call = this.peer.callStreaming(
      Methods.LLM_CHAT,
      { provider: this.name, model: req.model, stream: true, request },
      this.timeouts.streamMs,
      Methods.LLM_CHAT_DELTA,
      (raw) => {
        const chunk = raw as ChatStreamChunk;
        if (!isObj(chunk) || signal?.aborted) return;
        if (chunk.type === "text_delta" && typeof chunk.delta === "string") {
          text += chunk.delta;
          onDelta({ type: "text_delta", text: chunk.delta });
        } else if (chunk.type === "usage") usage = parseUsage(chunk.usage);
        else if (chunk.type === "end") finish = parseFinish(chunk.finish_reason);
      },
      signal,
    );
    const result = await untilAborted(call, signal);
    // The final reply carries usage and finish_reason (content optional); chunks said the rest.
    const final = isObj(result) ? result : {};
    const u = final.usage !== undefined ? parseUsage(final.usage) : (usage ?? { prompt_tokens: 0, completion_tokens: 0 });
    const f = final.finish_reason !== undefined ? parseFinish(final.finish_reason) : (finish ?? { kind: "stop" });
    if (text === "" && isObj(final.content) && final.content.type === "text" && typeof final.content.text === "string") text = final.content.text;
    return { content: text, finish_reason: finishReasonText(f), usage: { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens } };
  }
}

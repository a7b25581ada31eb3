import { RpcError, RpcErrorCodes } from "../contract/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { HostServiceHandler } from "../host/index.js";
import type { Logger } from "../log/index.js";
import { AnthropicProvider } from "./anthropic-provider.js";
import { boundedFetch, isResponseTooLarge, responseBytesFor } from "./bounded-fetch.js";
import { toLlmRpcError } from "./llm-errors.js";
import { OpenAIProvider } from "./openai-provider.js";
import type { ProviderClientOptions } from "./provider-options.js";
import type { ChatInput, ChatResponse } from "./chat-types.js";
import type { LlmCompleteRequest, LlmCompleteResult, LlmConfig, LlmMessage, LlmProvider, LlmTextDelta } from "./types.js";
import { ownProperty } from "../util/index.js";

const ROLES = new Set(["system", "user", "assistant"]);

/** Longest answer taken from a provider unless `llm.max_answer_chars` says otherwise. */
export const DEFAULT_MAX_ANSWER_CHARS = 1_048_576;

/** The refusal of an answer past `llm.max_answer_chars` (a provider streaming forever, or one huge reply). */
export function answerTooLarge(provider: string, limit: number): RpcError {
  return new RpcError(RpcErrorCodes.LLM_INVALID_REQUEST, `LLM provider ${provider} answered more than ${limit} characters (llm.max_answer_chars); the answer was dropped`, {
    provider,
    reason: "answer_too_large",
    max_answer_chars: limit,
  });
}

/** Characters of a chat answer: its text, or its tool calls as JSON. */
function answerChars(r: ChatResponse): number {
  if (r.content.type === "text") return r.content.text.length;
  let n = 0;
  for (const c of r.content.tool_calls) n += c.id.length + c.name.length + (typeof c.arguments === "string" ? c.arguments.length : (JSON.stringify(c.arguments)?.length ?? 0));
  return n;
}

/** Options of `app.llm.complete(...)`. */
export interface LlmCompleteOptions {
  /** Called with each text chunk; set = the request is streamed. */
  onDelta?: (chunk: LlmTextDelta) => void;
  signal?: AbortSignal;
}

/** A base URL safe to log: no user info or query string, where a credential could hide. */
function loggableUrl(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(unparsable)";
  }
}

const invalid = (message: string): RpcError => new RpcError(RpcErrorCodes.INVALID_PARAMS, message);

/** `llm.complete` params checked: messages required, numbers in range; throws -32602 otherwise. */
export function parseCompleteRequest(params: unknown): LlmCompleteRequest {
  if (typeof params !== "object" || params === null || Array.isArray(params)) throw invalid("llm.complete needs an object {messages, provider?, model?, ...}");
  const p = params as Record<string, unknown>;
  if (!Array.isArray(p.messages) || p.messages.length === 0) throw invalid("llm.complete needs a non-empty messages array");
  const messages: LlmMessage[] = p.messages.map((m, i) => {
    const r = m as Record<string, unknown> | null;
    if (!r || typeof r.role !== "string" || !ROLES.has(r.role) || typeof r.content !== "string") {
      throw invalid(`llm.complete messages[${i}] must be {role: system|user|assistant, content: string}`);
    }
    return { role: r.role as LlmMessage["role"], content: r.content };
  });
  const out: LlmCompleteRequest = { messages };
  for (const k of ["provider", "model", "system_prompt"] as const) {
    const v = p[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || v.length === 0) throw invalid(`llm.complete ${k} must be a non-empty string`);
    out[k] = v;
  }
  if (p.max_tokens !== undefined && p.max_tokens !== null) {
    if (!Number.isInteger(p.max_tokens) || (p.max_tokens as number) < 1) throw invalid("llm.complete max_tokens must be a positive integer");
    out.max_tokens = p.max_tokens as number;
  }
  if (p.temperature !== undefined && p.temperature !== null) {
    if (typeof p.temperature !== "number" || p.temperature < 0 || p.temperature > 2) throw invalid("llm.complete temperature must be a number in [0, 2]");
    out.temperature = p.temperature;
  }
  if (p.stream !== undefined && p.stream !== null) {
    if (typeof p.stream !== "boolean") throw invalid("llm.complete stream must be a boolean");
    out.stream = p.stream;
  }
  return out;
}

/**
 * The LLM providers of `llm.providers`, served to workflows (`app.llm`) and to
 * plugins (`llm.complete` host service). API keys are read from the env
 * variables the config names, once, and kept only inside the SDK clients.
 */
export class LlmService {
  private readonly providers = new Map<string, LlmProvider>();
  private readonly settings = new Map<string, string>();
  private defaultName: string | undefined;
  /** `llm.max_answer_chars`. */
  maxAnswerChars = DEFAULT_MAX_ANSWER_CHARS;
  /** Answers dropped for passing `maxAnswerChars`. */
  answersTooLarge = 0;

  constructor(
    config: LlmConfig,
    private readonly logger: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.reconfigure(config);
  }

  /**
   * Serve `config` from now on (a config reload): a provider whose settings
   * did not change keeps its client (and its connections); a changed one gets
   * a new client; a removed one is gone for the next request (requests in
   * flight finish on the client they started with). The API key variables of
   * new and changed providers are read now.
   */
  reconfigure(config: LlmConfig): void {
    // Only providers this config made: one registered another way stays.
    for (const name of [...this.settings.keys()]) {
      if (!(name in config.providers)) {
        this.providers.delete(name);
        this.settings.delete(name);
        this.logger.info({ provider: name }, "LLM provider removed");
      }
    }
    for (const [name, p] of Object.entries(config.providers)) {
      const fingerprint = JSON.stringify(p);
      if (this.settings.get(name) === fingerprint) continue;
      this.providers.set(name, this.build(name, p));
      this.settings.set(name, fingerprint);
    }
    this.defaultName = config.default ?? this.providers.keys().next().value;
    this.maxAnswerChars = config.maxAnswerChars ?? DEFAULT_MAX_ANSWER_CHARS;
  }

  private build(name: string, p: LlmConfig["providers"][string]): LlmProvider {
    const options: ProviderClientOptions = {
      timeoutMs: p.timeoutMs ?? 60_000,
      maxRetries: p.maxRetries ?? 2,
      fetch: boundedFetch(() => responseBytesFor(this.maxAnswerChars)),
    };
    if (p.baseUrl !== undefined) options.baseUrl = p.baseUrl;
    if (p.model !== undefined) options.model = p.model;
    if (p.apiKeyEnv !== undefined) {
      const key = ownProperty(this.env, p.apiKeyEnv);
      if (key) options.apiKey = key;
      else this.logger.warn({ provider: name, apiKeyEnv: p.apiKeyEnv }, "LLM provider's API key variable is not set; requests go without a key");
    }
    this.logger.info({ provider: name, kind: p.kind, baseUrl: loggableUrl(p.baseUrl), model: p.model ?? null, maxRetries: options.maxRetries }, "LLM provider configured");
    return p.kind === "anthropic" ? new AnthropicProvider(name, options) : new OpenAIProvider(name, options);
  }

  /** Names of the providers: configured ones, then those plugins serve. */
  list(): string[] {
    return [...this.providers.keys()];
  }

  /** The provider called `name`, if any. */
  get(name: string): LlmProvider | undefined {
    return this.providers.get(name);
  }

  /**
   * Add a provider served from elsewhere (an LLM provider plugin). A name
   * already taken is refused (NEXO_ERR_LLM_PROVIDER_CONFLICT): a plugin never
   * shadows a configured provider or another plugin's.
   */
  addProvider(provider: LlmProvider): void {
    const existing = this.providers.get(provider.name);
    if (existing) {
      throw new NexoError(
        ErrorCodes.LLM_PROVIDER_CONFLICT,
        `LLM provider "${provider.name}" already exists (${existing.kind === "plugin" ? "served by another plugin" : `configured under llm.providers as kind ${existing.kind}`}); rename one of them`,
        { field: "plugin.extends.llm_providers", data: { provider: provider.name } },
      );
    }
    this.providers.set(provider.name, provider);
    this.defaultName ??= provider.name;
    this.logger.info({ provider: provider.name, kind: provider.kind }, "LLM provider added");
  }

  /** Remove a provider added with `addProvider` (its plugin went away). */
  removeProvider(name: string): void {
    if (this.providers.get(name)?.kind === "plugin") this.providers.delete(name);
  }

  /**
   * One chat turn with tool calling (what an agent runs on). Errors as
   * `complete`: -32602 bad request or unknown provider, -32603 none
   * configured, -331xx from the provider.
   */
  async chat(input: ChatInput, options: { signal?: AbortSignal } = {}): Promise<ChatResponse> {
    if (this.providers.size === 0)
      throw new RpcError(RpcErrorCodes.INTERNAL_ERROR, "llm.chat is not configured on this host: add llm.providers to nexo.yaml or run an LLM provider plugin");
    const name = input.provider ?? this.defaultName!;
    const provider = this.providers.get(name);
    if (!provider) throw invalid(`unknown LLM provider ${JSON.stringify(name)}; available: ${this.list().join(", ")}`);
    const model = input.model ?? provider.defaultModel ?? (provider.kind === "plugin" ? name : undefined);
    if (!model) throw invalid(`a chat needs a model: provider ${name} has no default model`);
    const started = Date.now();
    try {
      const result = await provider.chat(
        {
          model,
          messages: input.messages,
          max_tokens: input.max_tokens ?? 4096,
          temperature: input.temperature ?? 0.7,
          ...(input.system_prompt ? { system_prompt: input.system_prompt } : {}),
          ...(input.tools?.length ? { tools: input.tools } : {}),
          ...(input.tool_choice ? { tool_choice: input.tool_choice } : {}),
        },
        options.signal,
      );
      if (answerChars(result) > this.maxAnswerChars) throw answerTooLarge(name, this.maxAnswerChars);
      this.logger.debug({ provider: name, model, ms: Date.now() - started, usage: result.usage, content: result.content.type }, "llm chat");
      return result;
    } catch (err) {
      const mapped = toLlmRpcError(name, isResponseTooLarge(err) ? answerTooLarge(name, this.maxAnswerChars) : err);
      this.countTooLarge(mapped);
      this.logger.warn({ provider: name, model, code: mapped.code, err: mapped.message }, "llm chat failed");
      throw mapped;
    }
  }

  private countTooLarge(err: RpcError): void {
    if ((err.data as { reason?: unknown } | undefined)?.reason === "answer_too_large") this.answersTooLarge += 1;
  }

  get configured(): boolean {
    return this.providers.size > 0;
  }

  /**
   * One completion. Failures are RpcErrors with the contract's codes: -32602
   * bad request or unknown provider, -32603 none configured, -331xx from the provider.
   */
  async complete(request: LlmCompleteRequest, options: LlmCompleteOptions = {}): Promise<LlmCompleteResult> {
    const req = parseCompleteRequest(request);
    if (this.providers.size === 0)
      throw new RpcError(RpcErrorCodes.INTERNAL_ERROR, "llm.complete is not configured on this host: add llm.providers to nexo.yaml or run an LLM provider plugin");
    const name = req.provider ?? this.defaultName!;
    const provider = this.providers.get(name);
    if (!provider) throw invalid(`unknown LLM provider ${JSON.stringify(name)}; configured: ${this.list().join(", ")}`);
    const model = req.model ?? provider.defaultModel ?? (provider.kind === "plugin" ? name : undefined);
    if (!model) throw invalid(`llm.complete needs a model: provider ${name} has no default model`);
    const started = Date.now();
    // A streamed answer is counted as it comes: past the limit the provider's request is aborted, so nothing more piles up.
    const limit = this.maxAnswerChars;
    const cut = new AbortController();
    let streamed = 0;
    const sink = options.onDelta;
    const onDelta = sink
      ? (chunk: LlmTextDelta): void => {
          if (cut.signal.aborted) return;
          streamed += chunk.text.length;
          if (streamed > limit) return cut.abort(answerTooLarge(name, limit));
          sink(chunk);
        }
      : undefined;
    const signal = options.signal ? AbortSignal.any([options.signal, cut.signal]) : cut.signal;
    try {
      const result = await provider.complete(
        {
          model,
          messages: req.messages,
          maxTokens: req.max_tokens ?? 4096,
          temperature: req.temperature ?? 0.7,
          ...(req.system_prompt ? { systemPrompt: req.system_prompt } : {}),
        },
        onDelta,
        signal,
      );
      if (cut.signal.aborted || result.content.length > limit) throw answerTooLarge(name, limit);
      this.logger.debug({ provider: name, model, ms: Date.now() - started, usage: result.usage, stream: options.onDelta !== undefined }, "llm completion");
      return result;
    } catch (err) {
      const mapped = toLlmRpcError(name, cut.signal.aborted ? (cut.signal.reason as RpcError) : isResponseTooLarge(err) ? answerTooLarge(name, limit) : err);
      this.countTooLarge(mapped);
      this.logger.warn({ provider: name, model, code: mapped.code, err: mapped.message }, "llm completion failed");
      throw mapped;
    }
  }

  /**
   * The `llm.complete` host service: with `stream: true` every chunk goes to
   * the plugin as `llm.complete.delta {request_id, chunk}` first, then the
   * reply carries `finish_reason` and `usage` without `content`.
   */
  hostService(): HostServiceHandler {
    return async (params, ctx) => {
      const req = parseCompleteRequest(params);
      if (!req.stream) return this.complete(req);
      const result = await this.complete(req, { onDelta: (chunk) => void ctx.notify("llm.complete.delta", { request_id: ctx.requestId, chunk }) });
      return { finish_reason: result.finish_reason, usage: result.usage };
    };
  }
}

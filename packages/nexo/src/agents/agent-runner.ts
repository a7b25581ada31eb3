import type { Nexo } from "../app/index.js";
import { internalPrincipal } from "../authz/index.js";
import { newEvent, type Event } from "../contract/index.js";
import { ErrorCodes, isNexoError, NexoError } from "../errors.js";
import type { ChatMessage, ChatToolCall } from "../llm/index.js";
import { LogThrottle } from "../host/index.js";
import type { AgentMetrics } from "./agent-metrics.js";
import type { ConversationStore } from "./conversation-store.js";
import { selectTools } from "./tool-selection.js";
import type { AgentSpec, AgentTurnResult } from "./types.js";
import { errorMessage } from "../util/index.js";

/** The built-in memory write tool: an agent writes only its own memories, so `agent_id` is filled in, not asked of the model. */
const REMEMBER_TOOL = "memory_remember";

/** Most characters of recalled memories put into an agent's system prompt. */
export const MAX_RECALL_CHARS = 32_768;

/** How often a binding sweeps its sessions for messages past `history_ttl_seconds`. */
const PRUNE_EVERY_MS = 60_000;

/** Longest tool result handed back to the model; the rest is cut (and said so). */
const MAX_TOOL_RESULT_CHARS = 16_384;

/** Longest tool arguments (as JSON) an agent runs a tool with; longer ones are answered with an error and not kept. */
export const MAX_TOOL_ARGS_CHARS = 65_536;

/** Size of a call's arguments as JSON. */
function argsChars(args: unknown): number {
  if (typeof args === "string") return args.length;
  try {
    return JSON.stringify(args ?? {})?.length ?? 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The user's text in an inbound payload: `payload[textField]`, a string payload, else "" (nothing to answer). */
export function userText(payload: unknown, textField: string): string {
  if (typeof payload === "string") return payload;
  if (isObj(payload) && typeof payload[textField] === "string") return payload[textField] as string;
  return "";
}

function errorText(err: unknown): string {
  if (isNexoError(err)) return `${err.code}: ${err.message}`;
  return errorMessage(err);
}

/** What a tool answered, as the text the model reads. */
function toolResultText(result: { content?: unknown; is_error?: unknown }): string {
  const parts = Array.isArray(result.content) ? result.content : [];
  const text = parts.map((c) => (isObj(c) && c.type === "text" && typeof c.text === "string" ? c.text : JSON.stringify(c))).join("\n");
  const out = result.is_error === true ? `error: ${text}` : text;
  return out.length > MAX_TOOL_RESULT_CHARS ? `${out.slice(0, MAX_TOOL_RESULT_CHARS)}\n[cut: ${out.length - MAX_TOOL_RESULT_CHARS} more characters]` : out;
}

/**
 * One agent at work for one binding: for each inbound message it recalls
 * memories, loads the session's history, then loops model -> tool calls
 * (through `app.callTool`, so validation, auth hooks, metrics and deadlines
 * apply) -> model until the model answers in text or `maxSteps` model calls
 * were made (NEXO_ERR_AGENT_STEP_LIMIT). The turn's messages are appended to
 * the session's history. Each step is an event on `agent.<binding>.step`,
 * and the turn ends with `agent.<binding>.completed` or `.failed`.
 */
export class AgentRunner {
  private readonly topics: { step: string; completed: string; failed: string };
  /** Per session id: the end of its last queued turn. Turns of one session run one after the other (each sees the previous one's history); other sessions run alongside up to the binding's concurrency. */
  private readonly sessionTails = new Map<string, Promise<void>>();
  private readonly warnings = new LogThrottle({ burst: 5, refillMs: 10_000 });
  private lastPrune = 0;

  constructor(
    readonly binding: string,
    readonly spec: AgentSpec,
    private readonly app: Nexo,
    private readonly conversations: () => Promise<ConversationStore>,
    private readonly metrics: AgentMetrics,
  ) {
    const base = `agent.${binding}`;
    this.topics = { step: `${base}.step`, completed: `${base}.completed`, failed: `${base}.failed` };
  }

  /** Run one turn for `event`, after the turns of its session already queued; null when the payload holds no text to answer. */
  run(event: Event): Promise<AgentTurnResult | null> {
    const session = event.session_id;
    if (session === null || session === undefined) return this.runNow(event);
    const turn = (this.sessionTails.get(session) ?? Promise.resolve()).then(() => this.runNow(event));
    const tail = turn.then(
      () => undefined,
      () => undefined,
    );
    this.sessionTails.set(session, tail);
    void tail.then(() => {
      if (this.sessionTails.get(session) === tail) this.sessionTails.delete(session);
    });
    return turn;
  }

  private async runNow(event: Event): Promise<AgentTurnResult | null> {
    const { spec, binding } = this;
    const text = userText(event.payload, spec.textField);
    if (text.trim() === "") return null;
    const started = performance.now();
    const session = event.session_id ?? null;
    try {
      // A channel user's message is paid for in tokens at every step and kept in the history: a huge one is refused before the model sees it.
      if (text.length > spec.maxInputChars) {
        throw new NexoError(
          ErrorCodes.AGENT_INPUT_TOO_LARGE,
          `agent of binding ${binding}: the message has ${text.length} characters, more than max_input_chars (${spec.maxInputChars}); not answered`,
          {
            data: { binding, chars: text.length, maxInputChars: spec.maxInputChars },
          },
        );
      }
      const result = await this.turn(event, text, session);
      const seconds = (performance.now() - started) / 1000;
      this.metrics.turns.inc({ binding, outcome: "replied" });
      this.metrics.turnSeconds.observe({ binding }, seconds);
      this.emit(this.topics.completed, event, { binding, session_id: session, steps: result.steps, tool_calls: result.toolCalls, duration_ms: Math.round(seconds * 1000) });
      return result;
    } catch (err) {
      const code = isNexoError(err) ? err.code : typeof (err as { code?: unknown })?.code === "number" ? String((err as { code: number }).code) : ErrorCodes.WORKFLOW_FAILED;
      this.metrics.turns.inc({ binding, outcome: code === ErrorCodes.AGENT_STEP_LIMIT ? "step_limit" : "failed" });
      this.emit(this.topics.failed, event, { binding, session_id: session, code, message: errorText(err) });
      throw err;
    }
  }

  private async turn(event: Event, text: string, session: string | null): Promise<AgentTurnResult> {
    const { spec, app, binding } = this;
    const store = spec.history > 0 && session !== null ? await this.conversations() : undefined;
    const history = store ? await store.load(binding, session!, spec.history) : [];
    const system = await this.systemPrompt(text);
    const tools = spec.tools.length > 0 ? selectTools(app.listTools(), spec.tools) : { defs: [], names: new Map<string, string>() };
    for (const def of tools.defs) if (tools.names.get(def.name) === REMEMBER_TOOL) def.parameters = withoutAgentId(def.parameters);
    const turn: ChatMessage[] = [{ role: "user", content: text }];
    let toolCalls = 0;
    for (let step = 1; step <= spec.maxSteps; step++) {
      const t0 = performance.now();
      const res = await app.llm.chat({
        ...(spec.provider ? { provider: spec.provider } : {}),
        ...(spec.model ? { model: spec.model } : {}),
        ...(system ? { system_prompt: system } : {}),
        messages: [...history, ...turn],
        ...(tools.defs.length > 0 ? { tools: tools.defs } : {}),
        ...(spec.maxTokens !== undefined ? { max_tokens: spec.maxTokens } : {}),
        ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
      });
      this.metrics.steps.inc({ binding, kind: "model" });
      this.metrics.tokens.inc({ binding, kind: "prompt" }, res.usage.prompt_tokens);
      this.metrics.tokens.inc({ binding, kind: "completion" }, res.usage.completion_tokens);
      const asked = res.content.type === "tool_calls" ? res.content.tool_calls : [];
      // A model asking for more tools than allowed in one answer gets the first ones; the rest are neither run nor kept.
      const calls = asked.length > spec.maxToolCalls ? asked.slice(0, spec.maxToolCalls) : asked;
      if (calls.length < asked.length) this.dropCalls("max_tool_calls", asked.length - calls.length);
      // Oversized arguments are not run and not kept: the conversation holds a marker in their place.
      const kept = calls.map((c) => (argsChars(c.arguments) > MAX_TOOL_ARGS_CHARS ? { ...c, arguments: { _dropped: `arguments over ${MAX_TOOL_ARGS_CHARS} characters` } } : c));
      this.emit(this.topics.step, event, {
        binding,
        session_id: session,
        step,
        kind: "model",
        duration_ms: round(performance.now() - t0),
        answer: res.content.type === "text" ? "text" : "tool_calls",
        tool_calls: calls.map((c) => tools.names.get(c.name) ?? c.name),
        ...(asked.length > calls.length ? { dropped_tool_calls: asked.length - calls.length } : {}),
        usage: res.usage,
      });
      if (res.content.type === "text") {
        turn.push({ role: "assistant", content: res.content.text });
        if (store) {
          await store.append(binding, session!, turn, spec.history);
          await this.pruneOld(store);
        }
        return { text: res.content.text, steps: step, toolCalls };
      }
      turn.push({ role: "assistant", content: "", tool_calls: kept });
      for (const [i, call] of calls.entries()) {
        toolCalls += 1;
        turn.push(await this.callTool(event, session, step, call, tools.names, kept[i] !== call));
      }
    }
    throw new NexoError(ErrorCodes.AGENT_STEP_LIMIT, `agent of binding ${binding} made ${spec.maxSteps} model calls without a final answer (max_steps); nothing was sent`, {
      data: { binding, maxSteps: spec.maxSteps, toolCalls },
    });
  }

  /** The configured system prompt, plus what memory recalls for `text`. */
  private async systemPrompt(text: string): Promise<string> {
    const { spec } = this;
    if (spec.recall <= 0) return spec.systemPrompt;
    const entries = await this.app.memory.recall({ agent_id: spec.agentId, query: text, limit: spec.recall }, spec.memoryBackend);
    if (entries.length === 0) return spec.systemPrompt;
    // Memories are written by models and tools (64 KiB each): what goes into every model call is held to MAX_RECALL_CHARS, best matches first.
    const kept: string[] = [];
    let size = 0;
    for (const e of entries) {
      const line = `- ${e.content.replace(/\s+/g, " ")}`;
      const room = MAX_RECALL_CHARS - size;
      if (room <= 0) break;
      kept.push(line.length > room ? `${line.slice(0, room)}…` : line);
      size += line.length + 1;
    }
    const lines = kept.join("\n");
    return `${spec.systemPrompt ? `${spec.systemPrompt}\n\n` : ""}What you remember (most relevant first):\n${lines}`;
  }

  /** One tool call through app.callTool; any failure becomes an error text the model reads (it may retry or explain). */
  private async callTool(event: Event, session: string | null, step: number, call: ChatToolCall, names: ReadonlyMap<string, string>, argsTooLarge: boolean): Promise<ChatMessage> {
    const { binding, spec, app } = this;
    const real = names.get(call.name);
    const t0 = performance.now();
    let content: string;
    let isError: boolean;
    let code: string | undefined;
    if (argsTooLarge) {
      content = `error: the arguments of this call are over ${MAX_TOOL_ARGS_CHARS} characters; the tool was not run`;
      isError = true;
      code = ErrorCodes.TOOL_INVALID_ARGS;
      this.dropCalls("arguments_too_large", 1);
    } else if (real === undefined) {
      content = `error: tool "${call.name}" is not available to this agent`;
      isError = true;
      code = ErrorCodes.TOOL_NOT_FOUND;
    } else {
      try {
        const args = real === REMEMBER_TOOL && isObj(call.arguments) ? { ...call.arguments, agent_id: spec.agentId } : call.arguments;
        const result = await app.callTool(real, args, { agentId: spec.agentId, sessionId: session, channel: "agent", principal: internalPrincipal("binding", binding) });
        content = toolResultText(result);
        isError = result.is_error === true;
      } catch (err) {
        content = `error: ${errorText(err)}`;
        isError = true;
        code = isNexoError(err) ? err.code : undefined;
      }
    }
    this.metrics.steps.inc({ binding, kind: "tool" });
    if (isError) this.metrics.toolErrors.inc({ binding });
    this.emit(this.topics.step, event, {
      binding,
      session_id: session,
      step,
      kind: "tool",
      tool: real ?? call.name,
      duration_ms: round(performance.now() - t0),
      is_error: isError,
      ...(code ? { code } : {}),
    });
    return { role: "tool", tool_call_id: call.id, name: call.name, content };
  }

  /** At most once a minute per binding: drop the messages older than `history_ttl_seconds`, in every session. */
  private async pruneOld(store: ConversationStore): Promise<void> {
    const { spec, binding } = this;
    const now = Date.now();
    if (spec.historyTtlSeconds <= 0 || now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    try {
      const n = await store.prune(binding, now - spec.historyTtlSeconds * 1000);
      if (n > 0) this.app.logger.info({ binding, deleted: n, historyTtlSeconds: spec.historyTtlSeconds }, "agent conversation messages past history_ttl_seconds deleted");
    } catch (err) {
      this.app.logger.warn({ binding, err: errorText(err) }, "pruning old agent conversation messages failed; retried on a later turn");
      this.lastPrune = 0;
    }
  }

  private dropCalls(reason: "max_tool_calls" | "arguments_too_large", n: number): void {
    this.metrics.droppedToolCalls.inc({ binding: this.binding, reason }, n);
    const line = this.warnings.take(reason);
    if (line)
      this.app.logger.warn(
        { binding: this.binding, reason, dropped: n, count: line.count, ...(line.suppressed > 0 ? { suppressed: line.suppressed } : {}) },
        reason === "max_tool_calls"
          ? `the model asked for more than ${this.spec.maxToolCalls} tool calls in one answer (max_tool_calls); the rest were dropped`
          : "the model sent tool arguments too large to run",
      );
  }

  /** Publish a step event when someone listens (a tail, a test, another binding): unobserved turns pay nothing. */
  private emit(topic: string, cause: Event, payload: Record<string, unknown>): void {
    const { broker } = this.app;
    if (broker.hasSubscribers && !broker.hasSubscribers(topic)) return;
    void broker
      .publish(topic, newEvent(topic, `agent.${this.binding}`, payload, { sessionId: cause.session_id, correlationId: cause.correlation_id ?? cause.id }))
      .catch((err: unknown) => this.app.logger.debug({ topic, err: (err as Error).message }, "agent event not published"));
  }
}

/** A tool schema without its `agent_id` property (the agent supplies its own). */
function withoutAgentId(schema: Record<string, unknown>): Record<string, unknown> {
  const props = isObj(schema.properties) ? { ...schema.properties } : {};
  delete props.agent_id;
  const required = Array.isArray(schema.required) ? schema.required.filter((r) => r !== "agent_id") : undefined;
  return { ...schema, properties: props, ...(required ? { required } : {}) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

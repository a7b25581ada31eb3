import { AGENT_DEFAULTS, type AgentConfig, type AgentSpec } from "./types.js";

const PROVIDER = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const BACKEND = /^[a-z][a-z0-9_]{0,63}$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Check a binding's `agent:` section; each problem is pushed on `bad(field, message)`
 * (field relative to `agent`). Returns the spec when there was none.
 */
export function parseAgent(raw: unknown, bindingName: string, bad: (field: string, message: string) => void): AgentSpec | undefined {
  if (!isObj(raw)) {
    bad("agent", "must be an object {provider?, model?, system_prompt?, tools?, memory?, max_steps?, history?}");
    return undefined;
  }
  const a = raw as AgentConfig;
  let ok = true;
  const fail = (field: string, message: string): void => {
    ok = false;
    bad(`agent.${field}`, message);
  };
  const optString = (field: keyof AgentConfig, re?: RegExp): void => {
    const v = a[field];
    if (v === undefined) return;
    if (typeof v !== "string" || v.length === 0 || (re && !re.test(v))) fail(field, `must be a non-empty string${re ? ` matching ${re.source}` : ""}, got ${JSON.stringify(v)}`);
  };
  optString("provider", PROVIDER);
  optString("model");
  optString("text_field");
  if (a.system_prompt !== undefined && typeof a.system_prompt !== "string") fail("system_prompt", "must be a string");
  const int = (field: string, v: unknown, min: number, max: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) fail(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  };
  int("max_steps", a.max_steps, 1, 64);
  int("max_tool_calls", a.max_tool_calls, 1, 256);
  int("history", a.history, 0, 1000);
  int("history_ttl_seconds", a.history_ttl_seconds, 0, 10 * 365 * 86_400);
  int("max_input_chars", a.max_input_chars, 1, 1_048_576);
  int("max_tokens", a.max_tokens, 1, 1_000_000);
  if (a.temperature !== undefined && (typeof a.temperature !== "number" || a.temperature < 0 || a.temperature > 2)) fail("temperature", "must be a number in [0, 2]");
  if (a.tools !== undefined && (!Array.isArray(a.tools) || a.tools.some((t) => typeof t !== "string" || t.length === 0)))
    fail("tools", "must be a list of tool names or glob patterns");
  const mem = a.memory;
  if (mem !== undefined) {
    if (!isObj(mem)) fail("memory", "must be an object {recall?, backend?, agent_id?}");
    else {
      int("memory.recall", mem.recall, 0, 1000);
      if (mem.backend !== undefined && (typeof mem.backend !== "string" || !BACKEND.test(mem.backend))) fail("memory.backend", `must match ${BACKEND.source}`);
      if (mem.agent_id !== undefined && (typeof mem.agent_id !== "string" || mem.agent_id.length === 0)) fail("memory.agent_id", "must be a non-empty string");
    }
  }
  const known = new Set([
    "provider",
    "model",
    "system_prompt",
    "tools",
    "memory",
    "max_steps",
    "max_tool_calls",
    "history",
    "history_ttl_seconds",
    "max_input_chars",
    "max_tokens",
    "temperature",
    "text_field",
  ]);
  for (const k of Object.keys(a)) if (!known.has(k)) fail(k, `is not an agent setting (known: ${[...known].join(", ")})`);
  if (!ok) return undefined;
  return {
    ...(a.provider !== undefined ? { provider: a.provider } : {}),
    ...(a.model !== undefined ? { model: a.model } : {}),
    systemPrompt: a.system_prompt ?? "",
    tools: a.tools ?? [],
    agentId: mem?.agent_id ?? bindingName,
    recall: mem?.recall ?? 0,
    ...(mem?.backend !== undefined ? { memoryBackend: mem.backend } : {}),
    maxSteps: a.max_steps ?? AGENT_DEFAULTS.maxSteps,
    maxToolCalls: a.max_tool_calls ?? AGENT_DEFAULTS.maxToolCalls,
    history: a.history ?? AGENT_DEFAULTS.history,
    historyTtlSeconds: a.history_ttl_seconds ?? AGENT_DEFAULTS.historyTtlSeconds,
    maxInputChars: a.max_input_chars ?? AGENT_DEFAULTS.maxInputChars,
    ...(a.max_tokens !== undefined ? { maxTokens: a.max_tokens } : {}),
    ...(a.temperature !== undefined ? { temperature: a.temperature } : {}),
    textField: a.text_field ?? AGENT_DEFAULTS.textField,
  };
}

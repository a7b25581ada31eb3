/** An agent binding's `agent:` section as written in nexo.yaml (snake_case). */
export interface AgentConfig {
  provider?: string;
  model?: string;
  system_prompt?: string;
  /** Tool names or glob patterns (`*` any run of characters, `?` one): plugin tools and workflows. Default none. */
  tools?: string[];
  /** Memory recalled into the system prompt: `recall` entries (0 = off) from `backend` (default: `memory.backend`, else the embedded store). */
  memory?: { recall?: number; backend?: string; agent_id?: string };
  /** Model calls per inbound message. Default 8. */
  max_steps?: number;
  /** Tool calls run per model answer; the model's further calls in that answer are dropped. Default 16. */
  max_tool_calls?: number;
  /** Messages kept per session (older ones are dropped). Default 40; 0 keeps none. */
  history?: number;
  /** Seconds a session's messages are kept after they were written, in every session of the binding. Default 2,592,000 (30 days); 0 keeps them until the session's own bound drops them. */
  history_ttl_seconds?: number;
  max_tokens?: number;
  temperature?: number;
  /** Longest user message an agent answers; a longer one fails the turn (NEXO_ERR_AGENT_INPUT_TOO_LARGE) before any model call. Default 32,768. */
  max_input_chars?: number;
  /** Field of the inbound payload holding the user's text. Default `text`. */
  text_field?: string;
}

/** A validated agent with defaults applied. */
export interface AgentSpec {
  provider?: string;
  model?: string;
  systemPrompt: string;
  tools: string[];
  /** Memory `agent_id`: `memory.agent_id`, else the binding's name. */
  agentId: string;
  recall: number;
  memoryBackend?: string;
  maxSteps: number;
  maxToolCalls: number;
  history: number;
  historyTtlSeconds: number;
  maxInputChars: number;
  maxTokens?: number;
  temperature?: number;
  textField: string;
}

/** What one turn did. */
export interface AgentTurnResult {
  /** The final answer (published on the outbound topic). */
  text: string;
  /** Model calls made. */
  steps: number;
  /** Tool calls made. */
  toolCalls: number;
}

export const AGENT_DEFAULTS = { maxSteps: 8, maxToolCalls: 16, history: 40, historyTtlSeconds: 2_592_000, maxInputChars: 32_768, textField: "text" } as const;

import type { LlmConfig, LlmProviderConfig } from "../llm/index.js";

/** JSON Schema of nexo.yaml's `llm:` section. */
export const llmConfigSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    default: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,63}$" },
    max_answer_chars: { type: "integer", minimum: 1024, maximum: 67_108_864, description: "Longest answer taken from any provider, streamed or not. Default 1,048,576." },
    providers: {
      type: "object",
      propertyNames: { pattern: "^[a-z0-9][a-z0-9_-]{0,63}$" },
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        required: ["kind"],
        properties: {
          kind: { enum: ["openai", "anthropic"] },
          base_url: { type: "string", pattern: "^https?://.+" },
          model: { type: "string", minLength: 1 },
          api_key_env: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description: "NAME of the env variable holding the key, never the key." },
          timeout_ms: { type: "integer", minimum: 1, maximum: 3_600_000 },
          max_retries: { type: "integer", minimum: 0, maximum: 10 },
        },
      },
    },
  },
} as const;

interface RawProvider {
  kind: "openai" | "anthropic";
  base_url?: string;
  model?: string;
  api_key_env?: string;
  timeout_ms?: number;
  max_retries?: number;
}

/** The validated `llm:` section in camelCase (empty providers when absent). */
export function llmConfigFromYaml(raw: { default?: string; max_answer_chars?: number; providers?: Record<string, RawProvider> } | undefined): LlmConfig {
  const providers: Record<string, LlmProviderConfig> = {};
  for (const [name, p] of Object.entries(raw?.providers ?? {})) {
    const c: LlmProviderConfig = { kind: p.kind };
    if (p.base_url !== undefined) c.baseUrl = p.base_url;
    if (p.model !== undefined) c.model = p.model;
    if (p.api_key_env !== undefined) c.apiKeyEnv = p.api_key_env;
    if (p.timeout_ms !== undefined) c.timeoutMs = p.timeout_ms;
    if (p.max_retries !== undefined) c.maxRetries = p.max_retries;
    providers[name] = c;
  }
  return {
    providers,
    ...(raw?.default !== undefined ? { default: raw.default } : {}),
    ...(raw?.max_answer_chars !== undefined ? { maxAnswerChars: raw.max_answer_chars } : {}),
  };
}

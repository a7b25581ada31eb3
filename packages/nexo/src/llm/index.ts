export { LlmService, parseCompleteRequest, type LlmCompleteOptions } from "./llm-service.js";
export { toLlmRpcError, retryAfterMs } from "./llm-errors.js";
export type { LlmConfig, LlmProviderConfig, LlmProviderKind, LlmMessage, LlmCompleteRequest, LlmCompleteResult, LlmUsage, LlmTextDelta } from "./types.js";

export { LlmService, parseCompleteRequest, type LlmCompleteOptions } from "./llm-service.js";
export { attachLlmProviderPlugins } from "./plugin-providers.js";
export { PluginLlmProvider, parseChatResponse, pluginLlmTimeouts, type LlmPluginPeer } from "./plugin-provider.js";
export { chatText, finishReasonText } from "./chat-types.js";
export type {
  ChatContent,
  ChatFinishReason,
  ChatInput,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ChatStreamChunk,
  ChatToolCall,
  ChatToolChoice,
  ChatToolDef,
  ChatUsage,
} from "./chat-types.js";
export { toLlmRpcError, retryAfterMs } from "./llm-errors.js";
export type { LlmProvider, LlmConfig, LlmProviderConfig, LlmProviderKind, LlmMessage, LlmCompleteRequest, LlmCompleteResult, LlmUsage, LlmTextDelta } from "./types.js";

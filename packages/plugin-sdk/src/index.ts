export { PluginAdapter } from "./adapter.js";
export type { EventHandler, PluginAdapterOptions, ShutdownHandler } from "./adapter.js";
export { ChannelAuthenticationError, ChannelConnectionError, ChannelError, ChannelRateLimitedError, ChannelRecipientInvalidError, ChannelUnsupportedError } from "./channels.js";
export type { ChannelContext, ChannelHandlers, HookHandler, HookInvocation, HookResponse, OutboundAck, OutboundMessage } from "./channels.js";
export { CONFORMANCE_PROBE_ENV, CONFORMANCE_PROBE_TOOL, conformanceProbe } from "./conformance-probe.js";
export type { ToolOptions } from "./conformance-probe.js";
export {
  HostCallAbandonedError,
  HostCallTimeoutError,
  ManifestError,
  PluginError,
  RpcDecodeError,
  RpcError,
  RpcErrorCodes,
  RpcServerError,
  RpcTimeoutError,
  RpcTransportError,
  ToolArgumentInvalidError,
  ToolDeniedError,
  ToolError,
  ToolExecutionFailedError,
  ToolInvalidArgsError,
  ToolNotFoundError,
  ToolUnavailableError,
  WireError,
} from "./errors.js";
export { Event, isUuid, sessionUuid, wireEvent } from "./event.js";
export type { EventExtras } from "./event.js";
export { FrameTooLargeError, MAX_FRAME_BYTES } from "./framing.js";
export { nowIso, uuidv7 } from "./ids.js";
export { BrokerSender, DEFAULT_HOST_CALL_TIMEOUT_MS, DEFAULT_RPC_TIMEOUT_MS, LlmStream, parseLlmCompleteResult, parseMemoryEntry } from "./host-calls.js";
export type {
  LineWriter,
  LlmCompleteOptions,
  LlmCompleteParams,
  LlmCompleteResult,
  MemoryEntry,
  MemoryRecallOptions,
  MemoryRecallParams,
  Message,
  SubscriptionHandler,
  TokenCount,
} from "./host-calls.js";
export { checkLlmChatParams, LlmErrorCodes, LlmProviderError, llmText } from "./llm-provider.js";
export type {
  LlmChatChunk,
  LlmChatContext,
  LlmChatHandler,
  LlmChatMessage,
  LlmChatParams,
  LlmChatRequest,
  LlmChatResponse,
  LlmChatUsage,
  LlmFinishReason,
  LlmToolCall,
} from "./llm-provider.js";
export { parseManifest } from "./manifest.js";
export type { ManifestPluginSection, ParsedManifest } from "./manifest.js";
export { stateDir } from "./state-dir.js";
export { installStdoutGuard, isStdoutGuardInstalled, STDOUT_GUARD_MARKER, uninstallStdoutGuard } from "./stdout-guard.js";
export type { RawWrite } from "./stdout-guard.js";
export { replyTopic, textResult, toolDefToJson, toolTopic } from "./tools.js";
export type { ToolContext, ToolDef, ToolHandler, ToolHandlerWithContext, ToolInvocation, ToolResult, TopicToolHandler } from "./tools.js";
export { buildErrorResponse, buildResponse, JSONRPC_VERSION, serializeFrame } from "./wire.js";
export type { JsonRpcErrorResponse, JsonRpcFrame, JsonRpcId, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "./wire.js";

/** The version of the reference SDK API (`nexo-plugin-sdk` on npm) this package implements in full. */
export const VERSION = "0.3.0";

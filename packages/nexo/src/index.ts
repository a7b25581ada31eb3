export { NexoError, ErrorCodes, isNexoError } from "./errors.js";
export { violationLine } from "./errors.js";
export type { ConfigErrorData, Violation } from "./errors.js";
export { Nexo, WORKFLOW_NAME_PATTERN, WORKFLOW_EVENT_SOURCE, publicToolName, TOOL_NAME_PATTERN } from "./app/index.js";
export { serveMcpStdio, mountMcpHttp, createMcpSession } from "./surfaces/mcp/index.js";
export { NexusPlugin, PluginManager, PLUGIN_NAME_PATTERN } from "./app/index.js";
export {
  registerBuiltinPlugin,
  builtinPluginNames,
  AuthPlugin,
  MonitoringPlugin,
  RateLimitPlugin,
  RequestLoggerPlugin,
  MetricsPlugin,
  WebhookPlugin,
  CachingPlugin,
  DatabasePlugin,
  contributeMetrics,
  hashApiKey,
  signWebhookBody,
  verifyWebhookSignature,
  OIDC_PROVIDERS,
} from "./plugins/index.js";
export { LocalBroker, NatsBroker, createBroker, matchTopic, validateTopic, validatePattern } from "./broker/index.js";
export { attachCluster, ClusterTools } from "./cluster/index.js";
export { clusterConfigFromYaml } from "./config/index.js";
export { Event, newEvent } from "./contract/index.js";
export { loadConfig } from "./config/index.js";
export { Daemon } from "./daemon/index.js";
export type { ReloadPlan, ReloadReport } from "./daemon/index.js";
export { createLogger } from "./log/index.js";
export { NEXO_VERSION } from "./version.js";
export { LlmService } from "./llm/index.js";
export type { LlmConfig, LlmProviderConfig, LlmCompleteRequest, LlmCompleteResult, LlmCompleteOptions, LlmTextDelta } from "./llm/index.js";
export { MemoryService } from "./memory/index.js";
export { AuthorizationGate, AuditLog, internalPrincipal } from "./authz/index.js";
export type { ActionKind, AuditEntry, AuditQuery, AuthorizationConfig, AuthorizationDecision, AuthorizationRuleConfig } from "./authz/index.js";
export { RunService, principalScope, parseIdempotencyKey, IDEMPOTENCY_HEADER, toRunView } from "./runs/index.js";
export type { RunAccess, RunError, RunRecord, RunStatus, RunsOptions, RunView, StartRunOptions, StartRunOutcome } from "./runs/index.js";
export { ScheduleService } from "./schedules/index.js";
export { parseSchedules, nextTick } from "./config/index.js";
export type { ScheduleServiceOptions } from "./schedules/index.js";
export type { ScheduleConfig } from "./config/index.js";
export type { CorsOptions, HttpConventionsOptions } from "./surfaces/http/index.js";
export type { MemoryEntry, RecallInput, RememberInput } from "./memory/index.js";
export { ChannelService } from "./channels/index.js";
export type { ChannelInfo, ChannelSendOptions, ChannelSendResult, ChannelStats, OutboundMessage } from "./channels/index.js";
export { HookNames, HookPoints } from "./app/hooks/index.js";
export type { HookContext, HookEvent, HookName, HookOutcome, HookPointStats, HookResponse, InProcessHook } from "./app/hooks/index.js";
export type { ErrorCode, NexoErrorDetails } from "./errors.js";
export type {
  AppHealth,
  AppState,
  CallToolOptions,
  ToolCalledEvent,
  ToolCalledHook,
  ToolInfo,
  ToolResult,
  ExecuteWorkflowOptions,
  ProgressEvent,
  HealthStatus,
  LifecycleHook,
  NexoOptions,
  NexoService,
  PluginStatusEntry,
  Principal,
  RegisterWorkflowOptions,
  ServiceHealth,
  Unsubscribe,
  WorkflowCall,
  WorkflowCompletedEvent,
  WorkflowContext,
  WorkflowFailedEvent,
  WorkflowHandler,
  WorkflowHook,
  WorkflowInfo,
  WorkflowInputs,
  WorkflowMiddleware,
  WorkflowStartedEvent,
} from "./app/index.js";
export type { InProcessPluginState, PluginHealth } from "./app/index.js";
export type {
  BuiltinPluginFactory,
  AuthOptions,
  AuthStrategy,
  ApiKeyEntry,
  MonitoringOptions,
  RateLimitOptions,
  RateLimitStats,
  RouteLimit,
  RequestLoggerOptions,
  MetricsPluginOptions,
  WorkflowMetricsSnapshot,
  WebhookOptions,
  WebhookPayload,
  WebhookStats,
  CachingOptions,
  DatabaseOptions,
  DatabaseStats,
  WorkflowExecutionRow,
  CacheStats,
} from "./plugins/index.js";
export type { Broker, Subscription, SubscribeOptions, BrokerStats } from "./broker/index.js";
export type { NexoConfig } from "./config/index.js";
export type { Logger } from "./log/index.js";

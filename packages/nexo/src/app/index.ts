export { Nexo } from "./nexo.js";
export { WORKFLOW_NAME_PATTERN } from "./workflow-registry.js";
export { WORKFLOW_EVENT_SOURCE } from "./workflow-events.js";
export { runInPluginScope, currentPluginScope } from "./plugin-scope.js";
export { ON_ABORTABLE } from "./abort-hook.js";
export { NexusPlugin } from "./nexus-plugin.js";
export type { PluginHealth } from "./nexus-plugin.js";
export { PluginManager, PLUGIN_NAME_PATTERN } from "./plugin-manager.js";
export type { InProcessPluginState } from "./plugin-manager.js";
export { publicToolName, TOOL_NAME_PATTERN, TOOL_EVENT_SOURCE } from "./tools/index.js";
export type {
  AppHealth,
  AppState,
  ExecuteWorkflowOptions,
  ProgressEvent,
  HealthStatus,
  LifecycleHook,
  NexoOptions,
  NexoService,
  PluginStatusEntry,
  Principal,
  RegisterWorkflowOptions,
  ResolvedNexoOptions,
  ServiceHealth,
  Unsubscribe,
  WorkflowCall,
  WorkflowCompletedEvent,
  WorkflowContext,
  WorkflowEventBase,
  WorkflowFailedEvent,
  WorkflowHandler,
  WorkflowHook,
  WorkflowInfo,
  WorkflowInputs,
  WorkflowMiddleware,
  WorkflowStartedEvent,
} from "./types.js";
export type { InputViolation } from "./input-validator.js";
export type { CallToolOptions, ToolCalledEvent, ToolCalledHook, ToolContent, ToolErrorData, ToolInfo, ToolResult, ToolSource, ToolWire } from "./tools/index.js";
export { beforeMessage, HookNames, HookPoints, isHookName } from "./hooks/index.js";
export type { HookContext, HookEvent, HookName, HookOutcome, HookPointStats, HookResponse, InProcessHook, MessageVerdict } from "./hooks/index.js";
export { errorMessage } from "./deadline.js";

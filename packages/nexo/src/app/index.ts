export { Nexo } from "./nexo.js";
export { WORKFLOW_NAME_PATTERN } from "./workflow-registry.js";
export { WORKFLOW_EVENT_SOURCE } from "./workflow-events.js";
export { runInPluginScope, currentPluginScope } from "./plugin-scope.js";
export type {
  AppHealth,
  AppState,
  ExecuteWorkflowOptions,
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

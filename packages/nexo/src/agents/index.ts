export { AgentMetrics } from "./agent-metrics.js";
export { AgentRunner, userText } from "./agent-runner.js";
export { ConversationStore } from "./conversation-store.js";
export { AGENT_MIGRATIONS } from "./migrations.js";
export { parseAgent } from "./parse-agent.js";
export { selectTools } from "./tool-selection.js";
export { AGENT_DEFAULTS } from "./types.js";
export type { SelectedTools } from "./tool-selection.js";
export type { AgentConfig, AgentSpec, AgentTurnResult } from "./types.js";

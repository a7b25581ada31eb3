export { MetricsPlugin } from "./metrics-plugin.js";
export type { MetricsPluginOptions, WorkflowMetricsSnapshot } from "./metrics-plugin.js";

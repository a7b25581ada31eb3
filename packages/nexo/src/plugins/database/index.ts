export { DatabasePlugin } from "./database-plugin.js";
export type { DatabaseOptions, DatabaseStats, WorkflowExecutionRow } from "./database-plugin.js";

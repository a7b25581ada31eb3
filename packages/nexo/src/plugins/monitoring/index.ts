export { MonitoringPlugin } from "./monitoring-plugin.js";
export { contributeMetrics, contributedRegistries } from "./contributions.js";
export type { MonitoringOptions } from "./monitoring-plugin.js";

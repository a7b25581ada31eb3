export { Daemon } from "./daemon.js";
export { buildPluginSpecs } from "./plugin-specs.js";
export { createPollers } from "./pollers.js";
export { RELOAD_SIGNAL, runUntilStopSignal, STOP_SIGNALS } from "./signals.js";
export { Reloader } from "./reload/index.js";
export type { ReloadPlan, ReloadReport } from "./reload/index.js";
export type { DaemonOptions } from "./daemon.js";
export type { DaemonPollerOptions } from "./pollers.js";

export { Daemon } from "./daemon.js";
export { buildPluginSpecs } from "./plugin-specs.js";
export { createPollers } from "./pollers.js";
export { runUntilStopSignal, STOP_SIGNALS } from "./signals.js";
export type { DaemonOptions } from "./daemon.js";
export type { DaemonPollerOptions } from "./pollers.js";

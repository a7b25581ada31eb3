export { Daemon } from "./daemon.js";
export { buildPluginSpecs } from "./plugin-specs.js";
export type { DaemonOptions } from "./daemon.js";

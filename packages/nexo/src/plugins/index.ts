export { NexusPlugin } from "./nexus-plugin.js";
export { PluginManager, PLUGIN_NAME_PATTERN } from "./plugin-manager.js";
export type { InProcessPluginState } from "./plugin-manager.js";
export { registerBuiltinPlugin, builtinPluginFactory, builtinPluginNames } from "./builtin-registry.js";
export type { BuiltinPluginFactory } from "./builtin-registry.js";

import type { NexusPlugin } from "../app/index.js";

/** Builds a built-in plugin from its `in_process_plugins.<name>` section of nexo.yaml. */
export type BuiltinPluginFactory = (options: Record<string, unknown>) => NexusPlugin<any>;

const factories = new Map<string, BuiltinPluginFactory>();

/** Make a built-in plugin available to nexo.yaml under `name` (e.g. `rate_limit`). */
export function registerBuiltinPlugin(name: string, factory: BuiltinPluginFactory): void {
  factories.set(name, factory);
}

/** The factory for `name`, or undefined. */
export function builtinPluginFactory(name: string): BuiltinPluginFactory | undefined {
  return factories.get(name);
}

/** Names nexo.yaml can use under `in_process_plugins`. */
export function builtinPluginNames(): string[] {
  return [...factories.keys()].sort();
}

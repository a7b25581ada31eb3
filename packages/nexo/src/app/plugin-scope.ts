import { AsyncLocalStorage } from "node:async_hooks";

// AsyncLocalStorage rather than a "current plugin" field: an async setup() that
// awaits before registering hooks must still be credited, even when two
// plugins set up concurrently.
const scope = new AsyncLocalStorage<string>();

/** Run `fn` so that hooks, middleware and workflows it registers (even after an await) belong to plugin `name`. */
export function runInPluginScope<T>(name: string, fn: () => T): T {
  return scope.run(name, fn);
}

/** The plugin whose setup is running in this async context, or null for the app itself. */
export function currentPluginScope(): string | null {
  return scope.getStore() ?? null;
}

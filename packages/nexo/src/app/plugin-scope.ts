import { AsyncLocalStorage } from "node:async_hooks";
import { isThenable } from "./deadline.js";

// AsyncLocalStorage rather than a "current plugin" field: an async setup() that
// awaits before registering hooks must still be credited, even when two
// plugins set up concurrently.
const scope = new AsyncLocalStorage<string>();
// On Node 20 an enabled AsyncLocalStorage keeps promise hooks on for every
// promise in the process (a tenth of an HTTP request's CPU in the HTTP API
// profile of BENCHMARKS.md), so it is disabled again whenever no setup is running.
let active = 0;

function settle(): void {
  if (--active === 0) scope.disable();
}

/** Run `fn` so that hooks, middleware and workflows it registers (even after an await) belong to plugin `name`. */
export function runInPluginScope<T>(name: string, fn: () => T): T {
  active++;
  let out: T;
  try {
    out = scope.run(name, fn);
  } catch (err) {
    settle();
    throw err;
  }
  if (isThenable(out)) {
    (out as PromiseLike<unknown>).then(settle, settle);
  } else {
    settle();
  }
  return out;
}

/** The plugin whose setup is running in this async context, or null for the app itself. */
export function currentPluginScope(): string | null {
  return scope.getStore() ?? null;
}

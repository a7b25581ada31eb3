import type { BindingSpec } from "../../bindings/index.js";
import type { NexoConfig } from "../../config/index.js";
import { pluginKey, type PluginSpec } from "../../host/index.js";
import type { PollersConfig } from "../../config/index.js";
import { sameValue } from "./stable-json.js";

/** What a reload does to one kind of thing, by name. Every name of the old and new config is in exactly one list. */
export interface Changes {
  /** New: started. */
  add: string[];
  /** In both, changed: stopped and started again (or, for plugins in `reconfigure`, sent `plugin.configure`). */
  replace: string[];
  /** Gone: stopped. */
  remove: string[];
  /** In both, unchanged: not touched. */
  keep: string[];
}

/** Everything a running daemon needs to know to move from one `nexo.yaml` to the next. */
export interface ReloadPlan {
  /** Subprocess plugins, by key (`<id>` or `<id>.<instance>`). */
  plugins: Changes;
  /** The plugins of `plugins.replace` whose only change is their config: sent `plugin.configure` again, restarted only if they refuse it. */
  reconfigure: string[];
  /** Proxy routes (`[plugin.http]` prefixes): they follow their plugin. */
  routes: Changes;
  /** Agent bindings, by name. */
  bindings: Changes;
  /** Poller jobs, by id. */
  pollers: Changes;
  /** LLM providers, by name. */
  providers: Changes;
  /** Settings applied in place (`log_level`, `llm.default`). */
  settings: string[];
  /** Settings that changed but only take effect when the daemon restarts; their values are never shown (a store URL may hold a password). */
  needsRestart: string[];
}

/** One side of a reload: a validated config and what it runs. */
export interface ReloadState {
  config: NexoConfig;
  /** The subprocess plugins this config runs (`buildPluginSpecs`). */
  plugins: readonly PluginSpec[];
  /** Its bindings, parsed (`parseBindings`). */
  bindings: readonly BindingSpec[];
}

/**
 * Compare what runs now with what the new config asks for. Pure: reads only
 * its arguments. A plugin whose manifest, environment or limits changed is
 * replaced (restarted); one whose only change is its `config` value is put in
 * `reconfigure` too (a value that was removed needs a restart: there is no
 * way to tell a plugin "no config").
 * @example const plan = planReload({ config: old, plugins: oldSpecs, bindings: oldBindings }, { config: next, plugins: nextSpecs, bindings: nextBindings });
 */
export function planReload(current: ReloadState, next: ReloadState): ReloadPlan {
  const before = byKey(current.plugins);
  const after = byKey(next.plugins);
  const plugins = diffByName(before, after, (a, b) => samePluginButConfig(a, b) && sameValue(a.config, b.config));
  const reconfigure = plugins.replace.filter((key) => samePluginButConfig(before.get(key)!, after.get(key)!) && after.get(key)!.config !== undefined);
  return {
    plugins,
    reconfigure,
    routes: planRoutes(current.plugins, next.plugins, new Set(plugins.replace.filter((k) => !reconfigure.includes(k)))),
    bindings: diffByName(new Map(current.bindings.map((b) => [b.name, b])), new Map(next.bindings.map((b) => [b.name, b])), sameValue),
    pollers: diffByName(pollerJobs(current.config.pollers), pollerJobs(next.config.pollers), sameValue),
    providers: diffByName(new Map(Object.entries(current.config.llm.providers)), new Map(Object.entries(next.config.llm.providers)), sameValue),
    settings: liveSettings(current.config, next.config),
    needsRestart: restartSettings(current.config, next.config),
  };
}

/** True when the plan changes nothing at all (and nothing waits for a restart). */
export function isEmptyPlan(plan: ReloadPlan): boolean {
  const kinds = [plan.plugins, plan.routes, plan.bindings, plan.pollers, plan.providers];
  return kinds.every((c) => c.add.length + c.replace.length + c.remove.length === 0) && plan.settings.length === 0 && plan.needsRestart.length === 0;
}

/** Everything but `config`: manifest (as loaded from disk), instance, environment, limits. */
function samePluginButConfig(a: PluginSpec, b: PluginSpec): boolean {
  return sameValue(a.manifest, b.manifest) && sameValue(a.env ?? {}, b.env ?? {}) && sameValue(a.limits ?? null, b.limits ?? null);
}

function byKey(specs: readonly PluginSpec[]): Map<string, PluginSpec> {
  return new Map(specs.map((s) => [pluginKey(s), s]));
}

function diffByName<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>, same: (a: T, b: T) => boolean): Changes {
  const out: Changes = { add: [], replace: [], remove: [], keep: [] };
  for (const [name, b] of after) {
    const a = before.get(name);
    if (a === undefined) out.add.push(name);
    else if (same(a, b)) out.keep.push(name);
    else out.replace.push(name);
  }
  for (const name of before.keys()) if (!after.has(name)) out.remove.push(name);
  return sortChanges(out);
}

function sortChanges(c: Changes): Changes {
  for (const list of [c.add, c.replace, c.remove, c.keep]) list.sort();
  return c;
}

/** A route is named by its prefix; it is replaced when its plugin restarts or its `[plugin.http]` changed. */
function planRoutes(current: readonly PluginSpec[], next: readonly PluginSpec[], restarted: ReadonlySet<string>): Changes {
  const routes = (specs: readonly PluginSpec[]): Map<string, { key: string; http: unknown }> => {
    const m = new Map<string, { key: string; http: unknown }>();
    for (const s of specs) {
      if (!s.manifest.http) continue;
      const prefix = s.instance ? `${s.manifest.http.mountPrefix}/${s.instance}` : s.manifest.http.mountPrefix;
      m.set(prefix, { key: pluginKey(s), http: { http: s.manifest.http, server: s.manifest.httpServer ?? null } });
    }
    return m;
  };
  return diffByName(routes(current), routes(next), (a, b) => a.key === b.key && !restarted.has(b.key) && sameValue(a.http, b.http));
}

function pollerJobs(p: PollersConfig | null): Map<string, unknown> {
  return new Map((p?.jobs ?? []).map((j) => [j.id, j]));
}

function liveSettings(a: NexoConfig, b: NexoConfig): string[] {
  const out: string[] = [];
  if (a.logLevel !== b.logLevel) out.push("log_level");
  if ((a.llm.default ?? null) !== (b.llm.default ?? null)) out.push("llm.default");
  return out;
}

/**
 * Settings read once at start: the sockets and stores the daemon opened, the
 * modules it imported (an ES module cannot be imported again), the host's
 * timeouts and sandbox. Pollers' shared settings are listed by field; a pollers
 * section that appears or disappears is applied (its jobs are added or removed).
 */
function restartSettings(a: NexoConfig, b: NexoConfig): string[] {
  const fields: Array<[string, unknown, unknown]> = [
    ["state_dir", a.stateDir, b.stateDir],
    ["broker", a.broker, b.broker],
    ["store", a.store, b.store],
    ["api.enabled", a.api.enabled, b.api.enabled],
    ["api.host", a.api.host, b.api.host],
    ["api.port", a.api.port, b.api.port],
    ["api.max_body_bytes", a.api.maxBodyBytes, b.api.maxBodyBytes],
    ["api.mcp_allowed_origins", a.api.mcpAllowedOrigins, b.api.mcpAllowedOrigins],
    ["control.socket", a.control.socket, b.control.socket],
    ["timeouts", a.timeouts, b.timeouts],
    ["sandbox", a.sandbox ?? null, b.sandbox ?? null],
    ["in_process_plugins", a.inProcessPlugins, b.inProcessPlugins],
    ["workflows", a.workflows, b.workflows],
    ["api.cors", a.api.conventions.cors ?? null, b.api.conventions.cors ?? null],
    ["api.security_headers", a.api.conventions.securityHeaders, b.api.conventions.securityHeaders],
    ["memory.remember_tool", a.memory.rememberTool, b.memory.rememberTool],
    ["memory.backend", a.memory.backend ?? null, b.memory.backend ?? null],
    ["authorization", a.authorization ?? null, b.authorization ?? null],
    ["runs", a.runs, b.runs],
    ["schedules", a.schedules, b.schedules],
    ["cluster", a.cluster, b.cluster],
  ];
  if (a.pollers && b.pollers) {
    const { jobs: _a, source: _sa, ...sharedA } = a.pollers;
    const { jobs: _b, source: _sb, ...sharedB } = b.pollers;
    for (const k of Object.keys(sharedB) as Array<keyof typeof sharedB>) fields.push([`pollers.${snake(k)}`, sharedA[k], sharedB[k]]);
  }
  return fields.filter(([, x, y]) => !sameValue(x, y)).map(([name]) => name);
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The config a daemon runs after a reload: `next`, except the settings that
 * need a restart, which keep their running values (so the next reload still
 * reports them, and `nexo info` shows what is in force).
 */
export function appliedConfig(current: NexoConfig, next: NexoConfig): NexoConfig {
  // Absent and present both count: a block added by the file is not in force until a restart either.
  const { authorization: _notYet, ...rest } = next;
  return {
    ...rest,
    file: current.file,
    stateDir: current.stateDir,
    broker: current.broker,
    store: current.store,
    api: current.api,
    control: current.control,
    timeouts: current.timeouts,
    ...(current.sandbox ? { sandbox: current.sandbox } : {}),
    inProcessPlugins: current.inProcessPlugins,
    workflows: current.workflows,
    memory: current.memory,
    ...(current.authorization ? { authorization: current.authorization } : {}),
    runs: current.runs,
    schedules: current.schedules,
    cluster: current.cluster,
    // A pollers service, once created, keeps its shared settings until a restart, also with no jobs left.
    pollers: current.pollers ? { ...current.pollers, jobs: next.pollers?.jobs ?? [] } : next.pollers,
  };
}

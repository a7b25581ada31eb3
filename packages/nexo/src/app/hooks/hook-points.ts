import { callWithDeadline, errorMessage } from "../deadline.js";
import { OwnedList } from "../hook-runner.js";
import { Methods, RpcError, RpcErrorCodes } from "../../contract/index.js";
import { ErrorCodes, isNexoError } from "../../errors.js";
import { LogThrottle } from "../../host/index.js";
import type { PluginSupervisor } from "../../host/index.js";
import { envMs } from "../../host/index.js";
import type { Logger } from "../../log/index.js";
import { clipReason, HOOK_POINTS, isHookName, readHookResponse, type HookName, type HookResponse } from "./hook-response.js";

/** The event a hook sees: a JSON object whose fields depend on the hook point (docs/channels-and-hooks.md). */
export type HookEvent = Record<string, unknown>;

/** What an in-process hook is told besides the event. */
export interface HookContext {
  hookName: HookName;
}

/** An in-process hook: return a HookResponse (or nothing, to allow); a throw or a miss of the deadline counts as allow. */
export type InProcessHook = (event: HookEvent, ctx: HookContext) => HookResponse | void | undefined | Promise<HookResponse | void | undefined>;

/** The part of a subprocess plugin the hook points use. */
export type HookPlugin = Pick<PluginSupervisor, "key" | "spec" | "call">;

/** Where a chain of hooks left an event. */
export interface HookOutcome {
  /** A hook blocked: the host does not go on with the event. */
  blocked: boolean;
  /** The blocking (or last transforming) hook's reason. */
  reason?: string;
  /** Who blocked: `app`, an in-process plugin's name, or `plugin:<key>`. */
  by?: string;
  /** The event after every override and transform. */
  event: HookEvent;
  /** Some hook changed the event (override or transform). */
  changed: boolean;
  /** Some hook asked that the event's session get no further replies. */
  doNotReplyAgain: boolean;
}

/** Counters of one hook point. */
export interface HookPointStats {
  /** Hook calls made (each handler counts once per event). */
  calls: number;
  blocked: number;
  changed: number;
  /** Calls that threw, answered an error, or answered something that is not a HookResponse. */
  failed: number;
  timedOut: number;
}

export interface HookPointsOptions {
  logger: Logger;
  /** Deadline of each hook call. Default NEXO_PLUGIN_HOOK_TIMEOUT_MS or 5000. */
  timeoutMs?: number;
  /** Sessions remembered as `do_not_reply_again`, oldest forgotten first. Default 10,000. */
  maxSilencedSessions?: number;
}

interface PluginHookEntry {
  plugin: HookPlugin;
  names: ReadonlySet<string>;
}

/** Failures logged back to back per hook and handler, then one per 10 s. */
const FAILURE_THROTTLE = { burst: 5, refillMs: 10_000 };

/**
 * The hook points of an app: in-process hooks (`app.onHook`) and the hooks of
 * subprocess plugins listing the point's name in `[plugin.extends] hooks`
 * (`hook.on_hook`). `fire` calls them in order, in-process hooks first (in
 * registration order), then plugins (in the order they were added, which is
 * the config's); each sees the event as the previous ones left it. The first
 * block ends the chain. A hook that throws, answers an error or misses the
 * deadline counts as allow: it is logged (throttled) and counted, never fatal.
 */
export class HookPoints {
  readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly local = new Map<HookName, OwnedList<InProcessHook>>();
  private readonly plugins: PluginHookEntry[] = [];
  private readonly counters = new Map<HookName, HookPointStats>();
  private readonly failures = new LogThrottle(FAILURE_THROTTLE);
  private readonly silenced = new Set<string>();
  private readonly maxSilenced: number;

  constructor(options: HookPointsOptions) {
    this.log = options.logger.child({ area: "hooks" });
    this.timeoutMs = options.timeoutMs ?? envMs("NEXO_PLUGIN_HOOK_TIMEOUT_MS", 5000);
    this.maxSilenced = options.maxSilencedSessions ?? 10_000;
    for (const name of HOOK_POINTS) {
      this.local.set(name, new OwnedList());
      this.counters.set(name, { calls: 0, blocked: 0, changed: 0, failed: 0, timedOut: 0 });
    }
  }

  /** Register an in-process hook on `name`, owned by `owner` (an in-process plugin's name, or null for the app). */
  on(name: HookName, fn: InProcessHook, owner: string | null): () => void {
    return this.localList(name).add(fn, owner);
  }

  /** Drop every in-process hook `owner` registered. */
  removeOwner(owner: string): void {
    for (const list of this.local.values()) list.removeOwner(owner);
  }

  /**
   * Fire `hook.on_hook` at the points a subprocess plugin lists in
   * `[plugin.extends] hooks`; the returned function undoes it. Names that are
   * not hook points of this host are logged once and never fired.
   */
  attachPlugin(plugin: HookPlugin): () => void {
    const declared = plugin.spec.manifest.extends.hooks;
    if (declared.length === 0) return () => undefined;
    const unknown = declared.filter((n) => !isHookName(n));
    if (unknown.length > 0) {
      this.log.warn({ plugin: plugin.key, hooks: unknown, points: HOOK_POINTS }, `plugin ${plugin.key} lists hooks this host never fires: ${unknown.join(", ")}`);
    }
    const entry: PluginHookEntry = { plugin, names: new Set(declared.filter(isHookName)) };
    this.plugins.push(entry);
    return () => {
      const i = this.plugins.indexOf(entry);
      if (i >= 0) this.plugins.splice(i, 1);
    };
  }

  /** True when at least one hook (in-process or plugin) listens on `name`: callers skip building events otherwise. */
  has(name: HookName): boolean {
    if (this.localList(name).size > 0) return true;
    for (const p of this.plugins) if (p.names.has(name)) return true;
    return false;
  }

  /** True when a hook answered `do_not_reply_again` for `sessionId`. */
  isSilenced(sessionId: string | null | undefined): boolean {
    return typeof sessionId === "string" && this.silenced.has(sessionId);
  }

  /** Counters per hook point. */
  stats(): Record<HookName, HookPointStats> {
    return Object.fromEntries([...this.counters].map(([k, v]) => [k, { ...v }])) as Record<HookName, HookPointStats>;
  }

  /** Run the hooks of `name` over `event` (a copy is passed along; `event` itself is not changed). */
  async fire(name: HookName, event: HookEvent): Promise<HookOutcome> {
    const counters = this.counters.get(name)!;
    let current: HookEvent = { ...event };
    const outcome: HookOutcome = { blocked: false, event: current, changed: false, doNotReplyAgain: false };
    const handlers: Array<{ who: string; call: () => Promise<unknown> }> = [];
    for (const { fn, owner } of this.localList(name).entries) {
      handlers.push({ who: owner ?? "app", call: () => this.callLocal(fn, current, name) });
    }
    for (const { plugin, names } of this.plugins) {
      if (!names.has(name)) continue;
      handlers.push({
        who: `plugin:${plugin.key}`,
        call: () => plugin.call(Methods.HOOK_ON_HOOK, { plugin_id: plugin.spec.manifest.id, hook_name: name, event: current }, this.timeoutMs),
      });
    }
    for (const h of handlers) {
      counters.calls += 1;
      let reply: unknown;
      try {
        reply = await h.call();
      } catch (err) {
        this.countFailure(counters, name, h.who, err);
        continue;
      }
      const read = readHookResponse(reply);
      if (!read.ok) {
        this.countFailure(counters, name, h.who, new Error(read.why));
        continue;
      }
      if (read.doNotReplyAgain) outcome.doNotReplyAgain = true;
      if (read.block) {
        // A blocking hook does not get to reshape the event as well.
        counters.blocked += 1;
        outcome.blocked = true;
        outcome.by = h.who;
        outcome.reason = read.reason ?? `blocked by the ${name} hook of ${h.who}`;
        this.log.info({ hook: name, by: h.who, reason: outcome.reason }, `${name} hook of ${h.who} blocked the event`);
        break;
      }
      if (read.ignoredOverride) this.warnThrottled(name, h.who, "override must be an object; ignored");
      if (read.override || read.body !== undefined) {
        current = { ...current, ...(read.override ?? {}), ...(read.body !== undefined ? { body: read.body } : {}) };
        counters.changed += 1;
        outcome.changed = true;
        if (read.reason) outcome.reason = read.reason;
      }
    }
    outcome.event = current;
    // The session the host fired for, never one a hook's override names: a hook must not silence other conversations.
    if (outcome.doNotReplyAgain) this.silence(event.session_id);
    return outcome;
  }

  private localList(name: HookName): OwnedList<InProcessHook> {
    const list = this.local.get(name);
    if (!list) throw new TypeError(`unknown hook point ${JSON.stringify(name)}; hook points: ${HOOK_POINTS.join(", ")}`);
    return list;
  }

  private async callLocal(fn: InProcessHook, event: HookEvent, hookName: HookName): Promise<unknown> {
    const outcome = await callWithDeadline(() => fn(event, { hookName }), this.timeoutMs);
    if (outcome.ok) return outcome.value;
    if (outcome.timedOut) throw new HookTimeout(this.timeoutMs);
    throw outcome.error;
  }

  private silence(sessionId: unknown): void {
    if (typeof sessionId !== "string" || sessionId === "") return;
    this.silenced.delete(sessionId);
    this.silenced.add(sessionId);
    if (this.silenced.size > this.maxSilenced) this.silenced.delete(this.silenced.values().next().value as string);
  }

  private countFailure(counters: HookPointStats, name: HookName, who: string, err: unknown): void {
    const timedOut = err instanceof HookTimeout || isNexoError(err, ErrorCodes.HOST_REQUEST_TIMEOUT);
    if (timedOut) counters.timedOut += 1;
    else counters.failed += 1;
    // A plugin that does not implement hook.on_hook answers -32601: upstream treats that as allow too.
    const why = err instanceof RpcError && err.code === RpcErrorCodes.METHOD_NOT_FOUND ? "does not implement hook.on_hook" : clipReason(errorMessage(err));
    this.warnThrottled(name, who, timedOut ? `did not answer within ${this.timeoutMs} ms` : why, timedOut ? ErrorCodes.PLUGIN_HOOK_TIMEOUT : undefined);
  }

  private warnThrottled(name: HookName, who: string, why: string, code?: string): void {
    const line = this.failures.take(`${name}\u0000${who}`);
    if (!line) return;
    this.log.warn(
      { hook: name, by: who, ...(code ? { code } : {}), count: line.count, ...(line.suppressed > 0 ? { suppressed: line.suppressed } : {}) },
      `${name} hook of ${who} failed (${why}); continuing as if it allowed`,
    );
  }
}

/** An in-process hook missed its deadline. */
class HookTimeout extends Error {
  constructor(ms: number) {
    super(`hook did not finish within ${ms} ms`);
  }
}

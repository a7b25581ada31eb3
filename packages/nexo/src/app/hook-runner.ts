import { ErrorCodes } from "../errors.js";
import type { Logger } from "../log/index.js";
import { callWithDeadline, errorMessage, isThenable, withDeadline } from "./deadline.js";
import type { Unsubscribe } from "./types.js";

/** A registered function and the plugin it belongs to (null: the app). */
export interface Owned<F> {
  readonly fn: F;
  readonly owner: string | null;
}

/**
 * An ordered list of owned functions. Copy-on-write, so a dispatch that is
 * iterating `entries` is never disturbed by a hook adding or removing hooks.
 */
export class OwnedList<F> {
  private items: ReadonlyArray<Owned<F>> = [];
  private fnsCache: ReadonlyArray<F> | undefined = [];

  /** The functions alone, in order (cached between changes: the middleware chain reads it per call). */
  get fns(): ReadonlyArray<F> {
    return (this.fnsCache ??= this.items.map((e) => e.fn));
  }

  /** Current snapshot, in registration order. */
  get entries(): ReadonlyArray<Owned<F>> {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }

  /** Append `fn`; the returned function removes exactly this registration. */
  add(fn: F, owner: string | null): Unsubscribe {
    const entry: Owned<F> = { fn, owner };
    this.items = [...this.items, entry];
    this.fnsCache = undefined;
    return () => {
      this.items = this.items.filter((e) => e !== entry);
      this.fnsCache = undefined;
    };
  }

  /** Drop everything `owner` registered; returns how many. */
  removeOwner(owner: string): number {
    const before = this.items.length;
    this.items = this.items.filter((e) => e.owner !== owner);
    this.fnsCache = undefined;
    return before - this.items.length;
  }
}

export interface HookRunnerOptions {
  logger: Logger;
  timeoutMs: number;
  maxPending: number;
}

/**
 * Calls hooks so that none can break the caller: each call is guarded by a
 * try/catch and a deadline, and failures are logged with the owning plugin's
 * name. Workflow hooks are fire-and-forget (see `dispatch`).
 */
export class HookRunner {
  private readonly pending = new Set<Promise<void>>();
  private droppedCalls = 0;

  constructor(private readonly options: HookRunnerOptions) {}

  /** Async hook calls still running. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Hook calls skipped because `maxPending` async calls were already running. */
  get dropped(): number {
    return this.droppedCalls;
  }

  /**
   * Call every hook with `event`, synchronously and in order, without awaiting
   * them. Returns undefined when every hook finished synchronously (the hot
   * path), else a promise that settles when the async ones have settled or hit
   * their deadline; it never rejects.
   */
  dispatch<E>(list: OwnedList<(event: E) => unknown>, event: E, hookName: string): Promise<void> | undefined {
    const entries = list.entries;
    let waits: Promise<void>[] | undefined;
    for (let i = 0; i < entries.length; i++) {
      const { fn, owner } = entries[i];
      if (this.pending.size >= this.options.maxPending) {
        this.droppedCalls++;
        this.options.logger.warn({ plugin: owner ?? "app", hook: hookName, pending: this.pending.size }, "too many hook calls pending; hook call dropped");
        continue;
      }
      let out: unknown;
      try {
        out = fn(event);
      } catch (err) {
        this.logFailure(owner, hookName, err);
        continue;
      }
      if (isThenable(out)) (waits ??= []).push(this.track(out, owner, hookName));
    }
    if (waits === undefined) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /** Await `fn(...args)` with the deadline; failures are logged, never thrown. Used for startup/shutdown/teardown. */
  async callGuarded<A extends unknown[]>(fn: (...args: A) => unknown, args: A, owner: string | null, hookName: string): Promise<boolean> {
    const outcome = await callWithDeadline(() => fn(...args), this.options.timeoutMs);
    if (outcome.ok) return true;
    if (outcome.timedOut) this.logTimeout(owner, hookName);
    else this.logFailure(owner, hookName, outcome.error);
    return false;
  }

  /** Run startup or shutdown hooks one after another, each with the deadline. */
  async runSequential(list: OwnedList<() => unknown>, hookName: string): Promise<void> {
    for (const { fn, owner } of list.entries) await this.callGuarded(fn, [], owner, hookName);
  }

  /** Wait for pending async hook calls, at most `ms`. */
  async drain(ms: number): Promise<void> {
    if (this.pending.size === 0) return;
    await withDeadline(Promise.all([...this.pending]), ms);
  }

  private track(work: PromiseLike<unknown>, owner: string | null, hookName: string): Promise<void> {
    const p: Promise<void> = withDeadline(work, this.options.timeoutMs).then((outcome) => {
      this.pending.delete(p);
      if (outcome.ok) return;
      if (outcome.timedOut) this.logTimeout(owner, hookName);
      else this.logFailure(owner, hookName, outcome.error);
    });
    this.pending.add(p);
    return p;
  }

  private logFailure(owner: string | null, hookName: string, err: unknown): void {
    this.options.logger.error({ plugin: owner ?? "app", hook: hookName, err }, `${hookName} hook of ${owner ?? "the app"} failed: ${errorMessage(err)}`);
  }

  private logTimeout(owner: string | null, hookName: string): void {
    this.options.logger.error(
      { plugin: owner ?? "app", hook: hookName, code: ErrorCodes.PLUGIN_HOOK_TIMEOUT, timeoutMs: this.options.timeoutMs },
      `${hookName} hook of ${owner ?? "the app"} did not finish within ${this.options.timeoutMs} ms`,
    );
  }
}

import type { Nexo } from "../../app/index.js";
import type { WorkflowCall } from "../../app/index.js";
import type { Logger } from "../../log/index.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";
import { check } from "../option-checks.js";
import { isDeepStrictEqual } from "node:util";
import { NatsBroker } from "../../broker/index.js";
import { kvKey, SharedKv } from "../../cluster/index.js";
import { CacheKeys } from "./cache-key.js";
import { copyResult } from "./copy-result.js";

/** Options of CachingPlugin (nexo.yaml: `in_process_plugins.caching`). */
export interface CachingOptions {
  /** Seconds a result stays fresh. Default 300. */
  ttl: number;
  /** Most results kept; the least recently used goes first. Default 1000. */
  maxEntries: number;
  /** Cache only these workflows. Default: every workflow (minus `exclude`). */
  include: string[] | undefined;
  /** Never cache these workflows. Default none. */
  exclude: string[];
  /** Key results by the caller's principal too, so one user never gets another's result. Default true. */
  varyByPrincipal: boolean;
  /** Clock in ms (tests). Default `Date.now`. */
  now: () => number;
  /**
   * `memory` (this process), `nats` (also a JetStream KV bucket shared by every
   * daemon: a result computed on one daemon is a hit on the others), or `auto`
   * (default): `nats` when the app's broker is NATS.
   */
  backend: string;
}

/** Counters of a CachingPlugin. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries dropped to stay under `maxEntries`. */
  evictions: number;
  /** Entries found but older than `ttl`. */
  expired: number;
  /** Entries held now. */
  size: number;
  /** Hits answered by the shared (NATS) cache, i.e. computed on another daemon or before a restart. Counted in `hits` too. */
  sharedHits?: number;
  /** `nats` when the shared cache is on. */
  backend?: string;
}

interface Entry {
  value: unknown;
  storedAt: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const SPECS: OptionSpecs<CachingOptions> = {
  ttl: check.number(0.001, 31_536_000),
  maxEntries: check.int(1, 10_000_000),
  include: check.optional(check.array(check.string(1))),
  exclude: check.array(check.string(1)),
  varyByPrincipal: check.bool(),
  now: check.fn(),
  backend: check.string(1, /^(auto|memory|nats)$/, "auto, memory or nats"),
};

/**
 * The reference plugin API's caching plugin, as middleware (`app.use`) instead of replacing
 * `executeWorkflow`: a hit returns a copy of the stored result without running
 * the workflow (no lifecycle hooks fire for it); a miss runs it and stores a
 * copy of a successful result. Failures are never cached. Key: SHA-256 of the
 * workflow name and the canonical JSON of its inputs (and the principal).
 * Middleware registered after this plugin runs only on misses: register
 * authorization middleware before it.
 * @example
 * const caching = new CachingPlugin({ ttl: 600 });
 * app.addPlugin(caching);
 * caching.clearCache();
 */
export class CachingPlugin extends BuiltinPlugin<CachingOptions> {
  private readonly cache = new Map<string, Entry>();
  /** The entry at the most recently used end of `cache`, when it is still there. */
  private newest: Entry | undefined;
  private keys = new CacheKeys();
  private counters = { hits: 0, misses: 0, evictions: 0, expired: 0 };
  private log: Logger | undefined;
  private shared: SharedKv | undefined;
  private sharedHits = 0;

  /** `new CachingPlugin(600)` is the reference plugin API's `CachingPlugin(ttl=600)`. */
  constructor(options?: Partial<CachingOptions> | number) {
    super(
      "caching",
      SPECS,
      { ttl: 300, maxEntries: 1000, include: undefined, exclude: [], varyByPrincipal: true, now: Date.now, backend: "auto" },
      typeof options === "number" ? { ttl: options } : options,
    );
  }

  override get description(): string {
    return "Caches successful workflow results (TTL, LRU)";
  }

  get ttl(): number {
    return this.options.ttl;
  }
  set ttl(v: number) {
    this.setOption("ttl", v);
  }
  get maxEntries(): number {
    return this.options.maxEntries;
  }
  set maxEntries(v: number) {
    this.setOption("maxEntries", v);
  }

  override setup(app: Nexo): void {
    super.setup(app);
    this.log = app.logger.child({ plugin: this.name });
    // Keys are only worth remembering for inputs that can hit, and at most maxEntries can.
    this.keys = new CacheKeys(Math.min(this.options.maxEntries, 4096));
    const { backend } = this.options;
    this.shared = undefined;
    if (backend === "nats" || (backend === "auto" && app.broker instanceof NatsBroker)) {
      if (!(app.broker instanceof NatsBroker)) this.fail("backend", '"nats" only with a NATS broker (broker: nats://...)');
      this.shared = new SharedKv(app.broker.connection, "nexo_cache", Math.max(1000, Math.ceil(this.options.ttl * 1000)), this.log);
    }
    app.use((call, next) => this.handle(call, next));
  }

  override teardown(): void {
    this.cache.clear();
    this.keys.clear();
  }

  /** Drop every stored result (counters are kept). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Hits, misses, evictions, expirations and the current size. */
  stats(): CacheStats {
    return { ...this.counters, size: this.cache.size, ...(this.shared ? { sharedHits: this.sharedHits, backend: "nats" } : {}) };
  }

  /** True when results of workflow `name` are cached. */
  isCached(name: string): boolean {
    const { include, exclude } = this.options;
    return (include === undefined || include.includes(name)) && !exclude.includes(name);
  }

  private async handle(call: WorkflowCall, next: () => Promise<unknown>): Promise<unknown> {
    if (!this.isCached(call.workflowName)) return next();
    let key: string;
    try {
      const principal = call.context.principal;
      const who = this.options.varyByPrincipal ? principal?.id : undefined;
      // A tenant's results are never served to another tenant, even when results are shared between principals.
      const tenant = call.context.app.authorization?.tenantOf(principal) ?? null;
      key = this.keys.keyOf(call.workflowName, call.inputs, tenant === null ? who : `${tenant}\u0000${who ?? ""}`);
    } catch (err) {
      this.log?.debug({ workflow: call.workflowName, err }, "inputs cannot be keyed; not cached");
      return next();
    }
    const now = this.options.now();
    const hit = this.cache.get(key);
    if (hit) {
      if (now - hit.storedAt < this.options.ttl * 1000) {
        // Most recently used goes last; the entry already there stays (a hot key would otherwise move on every hit).
        if (hit !== this.newest) {
          this.cache.delete(key);
          this.cache.set(key, (this.newest = hit));
        }
        this.counters.hits++;
        // Checked first: the line's object and text would otherwise be built on every hit.
        if (this.log?.isLevelEnabled("debug")) this.log.debug({ workflow: call.workflowName }, `Cache hit for ${call.workflowName}`);
        return copyResult(hit.value);
      }
      this.cache.delete(key);
      this.counters.expired++;
    }
    if (this.shared) {
      const remote = await this.sharedGet(key, now);
      if (remote !== undefined) {
        this.counters.hits++;
        this.sharedHits++;
        this.remember(key, remote.value, remote.storedAt);
        return copyResult(remote.value);
      }
    }
    this.counters.misses++;
    const result = await next();
    let value: unknown;
    try {
      value = copyResult(result);
    } catch (err) {
      this.log?.debug({ workflow: call.workflowName, err }, "result cannot be copied; not cached");
      return result;
    }
    const storedAt = this.options.now();
    this.remember(key, value, storedAt);
    // Awaited: once a caller has the result, every daemon can hit it (a miss already paid for the run).
    if (this.shared) await this.sharedPut(key, value, storedAt);
    return result;
  }

  private remember(key: string, value: unknown, storedAt: number): void {
    this.cache.delete(key);
    this.cache.set(key, (this.newest = { value, storedAt }));
    while (this.cache.size > this.options.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.counters.evictions++;
    }
  }

  /** A fresh entry of the shared cache, or undefined (absent, stale, unreadable, or NATS unreachable: a miss, never an error). */
  private async sharedGet(key: string, now: number): Promise<Entry | undefined> {
    try {
      const kv = await this.shared!.open();
      const e = kv ? await kv.get(kvKey(key)) : null;
      if (!e || e.operation !== "PUT" || e.value.length === 0) return undefined;
      const entry = JSON.parse(decoder.decode(e.value)) as Entry;
      return now - entry.storedAt < this.options.ttl * 1000 ? entry : undefined;
    } catch (err) {
      this.log?.debug({ err }, "shared cache unreachable: a miss");
      return undefined;
    }
  }

  /** Share a result; one that JSON cannot carry exactly (a Date, a Map) stays in this daemon's memory only. */
  private async sharedPut(key: string, value: unknown, storedAt: number): Promise<void> {
    try {
      const text = JSON.stringify({ value, storedAt });
      if (!isDeepStrictEqual(JSON.parse(text).value, value)) return;
      const kv = await this.shared!.open();
      await kv?.put(kvKey(key), encoder.encode(text));
    } catch (err) {
      this.log?.debug({ err }, "shared cache not written");
    }
  }
}

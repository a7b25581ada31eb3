import type { KV } from "nats";
import { kvKey, type SharedKv } from "../../cluster/index.js";
import type { Logger } from "../../log/index.js";
import type { TakeResult, TokenBuckets } from "./token-buckets.js";
import { errorMessage } from "../../util/index.js";

/** Compare-and-set attempts before a take gives up on the shared bucket and answers from memory. */
const MAX_ATTEMPTS = 16;

interface Stored {
  tokens: number;
  at: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Token buckets in a JetStream KV bucket, shared by every daemon: each take
 * reads the bucket, refills it by the time passed, takes a token and writes
 * it back only if nobody wrote in between (revision compare-and-set), so
 * concurrent takes on several daemons never spend the same token twice. The
 * tolerance is the daemons' clock skew (a refill computed from a clock that
 * is ahead) and the fallback: while NATS is unreachable, or a bucket is
 * fought over past MAX_ATTEMPTS, this daemon answers from its own memory.
 * Takes of one key on one daemon are serialized, so at most one CAS per
 * daemon races for a bucket.
 */
export class SharedTokenBuckets {
  fallbacks = 0;
  conflicts = 0;
  /** The take in progress per key: takes of one key on this daemon run one after another, so only daemons race. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly kv: SharedKv,
    private readonly local: TokenBuckets,
    private readonly logger: Logger | undefined,
  ) {}

  take(key: string, now: () => number, perMinute: number, burst: number, overflowKey: string): Promise<TakeResult> {
    const before = this.chains.get(key);
    const run = (): Promise<TakeResult> => this.takeNow(key, now, perMinute, burst, overflowKey);
    const mine = before ? before.then(run, run) : run();
    this.chains.set(key, mine);
    const clear = (): void => {
      if (this.chains.get(key) === mine) this.chains.delete(key);
    };
    mine.then(clear, clear);
    return mine;
  }

  private async takeNow(key: string, now: () => number, perMinute: number, burst: number, overflowKey: string): Promise<TakeResult> {
    const store = await this.kv.open();
    if (!store) return this.fallback(key, now(), perMinute, burst, overflowKey, undefined);
    const k = kvKey(key);
    const rate = perMinute / 60_000;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const entry = await store.get(k);
        const t = now();
        const live = entry !== null && entry.operation === "PUT" && entry.value.length > 0;
        const prev: Stored = live ? (JSON.parse(decoder.decode(entry.value)) as Stored) : { tokens: burst, at: t };
        const tokens = Math.min(burst, prev.tokens + Math.max(0, t - prev.at) * rate);
        const allowed = tokens >= 1;
        const next: Stored = { tokens: allowed ? tokens - 1 : tokens, at: Math.max(t, prev.at) };
        if (allowed) {
          const written = await write(store, k, next, live ? entry.revision : undefined);
          if (!written) {
            this.conflicts++;
            continue;
          }
        }
        const whole = Math.floor(next.tokens);
        return { allowed, remaining: whole, nextTokenS: Math.max(1, Math.ceil((whole + 1 - next.tokens) / rate / 1000)), overflow: false };
      }
      return this.fallback(key, now(), perMinute, burst, overflowKey, new Error(`bucket contended past ${MAX_ATTEMPTS} attempts`));
    } catch (err) {
      return this.fallback(key, now(), perMinute, burst, overflowKey, err);
    }
  }

  private fallback(key: string, now: number, perMinute: number, burst: number, overflowKey: string, err: unknown): TakeResult {
    this.fallbacks++;
    if (this.fallbacks === 1 || this.fallbacks % 1000 === 0)
      this.logger?.warn({ err, fallbacks: this.fallbacks }, "shared rate limit unreachable: this daemon limits from its own memory meanwhile");
    return this.local.take(key, now, perMinute, burst, overflowKey);
  }
}

/** Write `value` if the key is still at `revision` (or still absent); false when another daemon wrote first. */
async function write(store: KV, key: string, value: Stored, revision: number | undefined): Promise<boolean> {
  const data = encoder.encode(JSON.stringify(value));
  try {
    if (revision === undefined) await store.create(key, data);
    else await store.update(key, data, revision);
    return true;
  } catch (err) {
    // "wrong last sequence" (update) or "key exists" (create): lost the race; anything else is a real failure.
    const msg = errorMessage(err);
    if (/wrong last sequence|exists/i.test(msg)) return false;
    throw err;
  }
}

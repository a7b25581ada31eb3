/** The verdict for one request. */
export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds (rounded up, at least 1) until the next token accrues. */
  nextTokenS: number;
  /** True when the key had no bucket and the table was full: the shared overflow bucket answered. */
  overflow: boolean;
}

interface Bucket {
  tokens: number;
  /** ms timestamp of the last refill. */
  at: number;
  /** Tokens per ms. */
  rate: number;
  burst: number;
}

/** When `b` will have refilled to full (ms); a full bucket equals a fresh one. */
function fullAt(b: Bucket): number {
  return b.at + (b.burst - b.tokens) / b.rate;
}

/**
 * Token buckets per key: capacity `burst`, refilled continuously at
 * `perMinute / 60` tokens per second. Synchronous, so a check-and-take is
 * atomic on Node's single thread (exact under any concurrency).
 *
 * Memory is bounded at `maxBuckets` keys, and the bound never hands a client
 * a fresh bucket: only buckets that have refilled to full (which equal a new
 * bucket) are evicted to make room. When every bucket is partly used, a new
 * key shares one overflow bucket per `overflowKey` (the policy) until a bucket
 * refills, so a flood of new clients gets at most one bucket's worth together.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly overflowBuckets = new Map<string, Bucket>();
  /** No bucket in the table is full before this time (ms): skips scans while the table is saturated. */
  private noneFullBefore = -Infinity;
  private evicted = 0;
  private overflowed = 0;

  constructor(private readonly maxBuckets: number) {}

  /** Buckets held now (the overflow buckets not counted). */
  get size(): number {
    return this.buckets.size;
  }

  /** Full (idle) buckets dropped to make room for a new key. */
  get evictions(): number {
    return this.evicted;
  }

  /** Takes answered by an overflow bucket because the table was full of partly used buckets. */
  get overflows(): number {
    return this.overflowed;
  }

  /** Take one token from `key`'s bucket at time `now` (ms); `overflowKey` names the bucket shared when the table is full. */
  take(key: string, now: number, perMinute: number, burst: number, overflowKey = ""): TakeResult {
    const rate = perMinute / 60_000; // tokens per ms
    let b = this.buckets.get(key);
    let overflow = false;
    if (b !== undefined) {
      // Re-insert so Map order is least recently used first: full buckets gather at the front.
      // A bucket already taken from this millisecond keeps its place: the order is by ms anyway.
      if (b.at !== now) {
        this.buckets.delete(key);
        this.buckets.set(key, b);
      }
    } else if (this.buckets.size < this.maxBuckets || this.evictOneFull(now)) {
      b = { tokens: burst, at: now, rate, burst };
      this.buckets.set(key, b);
    } else {
      overflow = true;
      this.overflowed++;
      b = this.overflowBuckets.get(overflowKey);
      if (b === undefined) {
        b = { tokens: burst, at: now, rate, burst };
        this.overflowBuckets.set(overflowKey, b);
      }
    }
    if (now > b.at) {
      b.tokens = Math.min(b.burst, b.tokens + (now - b.at) * b.rate);
      b.at = now;
    }
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    if (!overflow) this.noneFullBefore = Math.min(this.noneFullBefore, fullAt(b));
    const whole = Math.floor(b.tokens);
    const nextTokenS = Math.max(1, Math.ceil((whole + 1 - b.tokens) / b.rate / 1000));
    return { allowed, remaining: whole, nextTokenS, overflow };
  }

  /** Drop buckets (and overflow buckets) that are full again at `now`; returns how many table buckets. */
  sweep(now: number): number {
    let n = 0;
    for (const [key, b] of this.buckets) {
      if (fullAt(b) <= now) {
        this.buckets.delete(key);
        n++;
      }
    }
    for (const [key, b] of this.overflowBuckets) if (fullAt(b) <= now) this.overflowBuckets.delete(key);
    return n;
  }

  clear(): void {
    this.buckets.clear();
    this.overflowBuckets.clear();
    this.noneFullBefore = -Infinity;
  }

  /** Evict one bucket that is full at `now`, least recently used first; false when none is. */
  private evictOneFull(now: number): boolean {
    if (now < this.noneFullBefore) return false;
    let earliest = Infinity;
    for (const [key, b] of this.buckets) {
      const at = fullAt(b);
      if (at <= now) {
        this.buckets.delete(key);
        this.evicted++;
        return true;
      }
      if (at < earliest) earliest = at;
    }
    // Buckets only move their full time later (a take) or leave; new ones lower it in take().
    this.noneFullBefore = earliest;
    return false;
  }
}

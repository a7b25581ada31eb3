/** The verdict for one request. */
export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds (rounded up, at least 1) until the next token accrues. */
  nextTokenS: number;
}

interface Bucket {
  tokens: number;
  /** ms timestamp of the last refill. */
  at: number;
}

/**
 * Token buckets per key: capacity `burst`, refilled continuously at
 * `perMinute / 60` tokens per second. Synchronous, so a check-and-take is
 * atomic on Node's single thread (exact under any concurrency). Memory is
 * bounded: at most `maxBuckets` keys, least recently used evicted first, and
 * `sweep` drops buckets that have refilled to full (they equal a new bucket).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private evicted = 0;

  constructor(private readonly maxBuckets: number) {}

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Buckets evicted to stay under `maxBuckets` (those clients got a fresh bucket). */
  get evictions(): number {
    return this.evicted;
  }

  /** Take one token from `key`'s bucket at time `now` (ms). */
  take(key: string, now: number, perMinute: number, burst: number): TakeResult {
    const rate = perMinute / 60_000; // tokens per ms
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, at: now };
      if (this.buckets.size >= this.maxBuckets) this.evictOldest();
    } else {
      // Re-insert so Map order is least recently used first.
      this.buckets.delete(key);
      if (now > b.at) {
        b.tokens = Math.min(burst, b.tokens + (now - b.at) * rate);
        b.at = now;
      }
    }
    this.buckets.set(key, b);
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    const whole = Math.floor(b.tokens);
    const nextTokenS = Math.max(1, Math.ceil((whole + 1 - b.tokens) / rate / 1000));
    return { allowed, remaining: whole, nextTokenS };
  }

  /** Drop buckets that are full again at `now`; returns how many. */
  sweep(now: number, perMinuteOf: (key: string) => number, burstOf: (key: string) => number): number {
    let n = 0;
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * (perMinuteOf(key) / 60_000) >= burstOf(key)) {
        this.buckets.delete(key);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.buckets.clear();
  }

  private evictOldest(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) {
      this.buckets.delete(oldest.value);
      this.evicted++;
    }
  }
}

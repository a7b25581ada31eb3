/** When to respawn a crashed plugin and how long to wait first. */
export interface RestartPolicyOptions {
  /** Respawn at all. Default true (Nexo). */
  respawn: boolean;
  /** Consecutive crashes tolerated before giving up. Default 3. */
  maxAttempts: number;
  /** First delay; doubles per attempt. Default 1000. */
  backoffMs: number;
  /** Upper bound of one delay. Default 60,000 (docs/contract.md). */
  maxBackoffMs?: number;
  /** Jitter as a fraction of the delay (0..1), spread both ways. Default 0.2. */
  jitter?: number;
  /** Uptime after which a run counts as stable and the attempt counter resets. Default 60,000. */
  stableAfterMs?: number;
  /** Random source in [0, 1) (tests). Default Math.random. */
  random?: () => number;
}

export const MAX_BACKOFF_MS = 60_000;

/** Decision after a crash. */
export type RestartDecision = { respawn: true; attempt: number; delayMs: number } | { respawn: false; attempt: number; reason: "disabled" | "gave_up" };

/** Counts consecutive crashes and turns each into a delay (doubling, capped, jittered). */
export class RestartPolicy {
  private attempts = 0;
  private readonly opts: Required<RestartPolicyOptions>;

  constructor(options: RestartPolicyOptions) {
    this.opts = {
      maxBackoffMs: MAX_BACKOFF_MS,
      jitter: 0.2,
      stableAfterMs: 60_000,
      random: Math.random,
      ...options,
    };
  }

  /** Consecutive crashes so far (0 after a stable run). */
  get attempt(): number {
    return this.attempts;
  }

  /** Record that the plugin ran for `uptimeMs` and then crashed; decide what to do. */
  onCrash(uptimeMs: number): RestartDecision {
    if (uptimeMs >= this.opts.stableAfterMs) this.attempts = 0;
    if (!this.opts.respawn) return { respawn: false, attempt: this.attempts, reason: "disabled" };
    if (this.attempts >= this.opts.maxAttempts) return { respawn: false, attempt: this.attempts, reason: "gave_up" };
    this.attempts += 1;
    return { respawn: true, attempt: this.attempts, delayMs: this.delayFor(this.attempts) };
  }

  /** Forget past crashes (manual restart). */
  reset(): void {
    this.attempts = 0;
  }

  /** Delay before attempt `n` (1-based): backoff * 2^(n-1), capped, then jittered within the cap. */
  delayFor(n: number): number {
    const base = Math.min(this.opts.backoffMs * 2 ** Math.max(0, n - 1), this.opts.maxBackoffMs);
    const spread = base * this.opts.jitter;
    const jittered = base - spread + this.opts.random() * 2 * spread;
    return Math.max(0, Math.min(Math.round(jittered), this.opts.maxBackoffMs));
  }
}

/** What a throttled line should say about the lines it stands for. */
export interface ThrottledLine {
  /** Occurrences of this reason so far, this one included. */
  count: number;
  /** Occurrences not logged since the previous logged line of this reason. */
  suppressed: number;
}

export interface LogThrottleOptions {
  /** Lines of one reason logged back to back before throttling starts. */
  burst: number;
  /** One more line of a reason is allowed per this many milliseconds. */
  refillMs: number;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

/**
 * A token bucket per reason, so a plugin flooding one kind of mistake
 * (denied publishes, bad frames, stderr lines) costs a bounded number of log
 * lines: `burst` at once, then one per `refillMs`, each carrying how many it
 * stands for. Reasons are the host's own words, never plugin input, so the
 * map stays small.
 */
export class LogThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number; count: number; suppressed: number }>();
  private readonly now: () => number;

  constructor(private readonly options: LogThrottleOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Count one occurrence of `reason`; the line to log, or undefined when it is suppressed. */
  take(reason: string): ThrottledLine | undefined {
    const now = this.now();
    let b = this.buckets.get(reason);
    if (!b) {
      b = { tokens: this.options.burst, at: now, count: 0, suppressed: 0 };
      this.buckets.set(reason, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.options.burst, b.tokens + (now - b.at) / this.options.refillMs);
      b.at = now;
    }
    b.count += 1;
    if (b.tokens < 1) {
      b.suppressed += 1;
      return undefined;
    }
    b.tokens -= 1;
    const line = { count: b.count, suppressed: b.suppressed };
    b.suppressed = 0;
    return line;
  }
}

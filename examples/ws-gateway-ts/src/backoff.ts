/** How reconnect delays grow. */
export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  initialMs: number;
  /** Upper bound before jitter, ms. */
  maxMs: number;
  /** Spread around the delay: 0.2 means ±20 %. 0..1. */
  jitter: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): `initialMs * 2^(attempt-1)`,
 * capped at `maxMs`, then spread by ±`jitter` so that many clients cut off at
 * once do not all come back in the same instant.
 * @example backoffDelay(3, { initialMs: 500, maxMs: 30_000, jitter: 0.2 }) // 1600..2400
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt - 1, 52));
  return Math.max(0, Math.round(base * (1 + options.jitter * (2 * random() - 1))));
}

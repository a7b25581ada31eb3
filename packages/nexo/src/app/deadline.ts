/** How a call guarded by a deadline ended. */
export type DeadlineOutcome<T> = { ok: true; value: T } | { ok: false; timedOut: true } | { ok: false; timedOut: false; error: unknown };

/**
 * Settle `work` or give up after `ms`. The work itself is not cancelled (a
 * promise cannot be); the caller only stops waiting, and the timer is always cleared.
 */
export function withDeadline<T>(work: PromiseLike<T>, ms: number): Promise<DeadlineOutcome<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, timedOut: true }), ms);
    Promise.resolve(work).then(
      (value) => {
        clearTimeout(timer);
        resolve({ ok: true, value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ ok: false, timedOut: false, error });
      },
    );
  });
}

/** Run `fn` (sync or async) under a deadline; a synchronous throw counts as a failure, never escapes. */
export function callWithDeadline<T>(fn: () => T | PromiseLike<T>, ms: number): Promise<DeadlineOutcome<T>> {
  let out: T | PromiseLike<T>;
  try {
    out = fn();
  } catch (error) {
    return Promise.resolve({ ok: false, timedOut: false, error });
  }
  if (isThenable(out)) return withDeadline(out, ms);
  return Promise.resolve({ ok: true, value: out as T });
}

/** True for promises and other thenables. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

export { errorMessage } from "../util/index.js";

import { ErrorCodes, NexoError, type ErrorCode } from "../errors.js";
import { errorMessage } from "../util/index.js";

/**
 * Why a run failed, as counted in metrics (`errors_total{class}`). Transient
 * classes back off and count toward the circuit breaker; permanent ones pause the job.
 */
export type PollErrorClass =
  "network" | "timeout" | "http_429" | "http_5xx" | "delivery" | "internal" | "http_4xx" | "http_status" | "redirect" | "parse" | "config" | "private_network" | "body_too_large";

const TRANSIENT: ReadonlySet<PollErrorClass> = new Set(["network", "timeout", "http_429", "http_5xx", "delivery", "internal"]);

/** True when a class is retried with backoff (false: the job is paused). */
export function isTransientClass(c: PollErrorClass): boolean {
  return TRANSIENT.has(c);
}

/**
 * A classified run failure. `retryAfterMs` comes from a 429/503 `Retry-After`;
 * `upstreamStatus` is the polled server's status, kept in `data`: it says what
 * the feed answered, never the status of a reply of Nexo's own (the catalogue decides that).
 */
export class PollError extends NexoError {
  readonly errorClass: PollErrorClass;
  readonly retryAfterMs: number | undefined;
  readonly upstreamStatus: number | undefined;

  constructor(code: ErrorCode, errorClass: PollErrorClass, message: string, options: { upstreamStatus?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(code, message, {
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
      data: {
        class: errorClass,
        transient: isTransientClass(errorClass),
        ...(options.upstreamStatus !== undefined ? { upstreamStatus: options.upstreamStatus } : {}),
        ...(options.retryAfterMs !== undefined ? { retryAfterMs: options.retryAfterMs } : {}),
      },
    });
    this.name = "PollError";
    this.errorClass = errorClass;
    this.retryAfterMs = options.retryAfterMs;
    this.upstreamStatus = options.upstreamStatus;
  }

  get transient(): boolean {
    return isTransientClass(this.errorClass);
  }
}

/** A job's kind config is unusable (the job is paused until the file is fixed). */
export function configError(message: string): PollError {
  return new PollError(ErrorCodes.POLLER_INVALID_CONFIG, "config", message);
}

/** A 2xx body that does not parse as the kind expects. */
export function parseError(message: string, cause?: unknown): PollError {
  return new PollError(ErrorCodes.POLLER_PARSE, "parse", message, cause === undefined ? {} : { cause });
}

/** Classify anything thrown during a run; errors that are not PollErrors count as transient `internal` (store hiccups, bugs). */
export function toPollError(err: unknown): PollError {
  if (err instanceof PollError) return err;
  const message = errorMessage(err);
  const code = err instanceof NexoError ? err.code : ErrorCodes.POLLER_FETCH_FAILED;
  return new PollError(code, "internal", message, { cause: err });
}

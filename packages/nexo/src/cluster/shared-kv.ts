import { createHash } from "node:crypto";
import type { KV, NatsConnection } from "nats";
import type { Logger } from "../log/index.js";

const RETRY_MS = 5000;

/**
 * A JetStream KV bucket opened on first use and shared by every daemon of
 * the cluster. `open()` resolves null (logged, tried again after a few
 * seconds) when JetStream is not there, so a caller falls back to its
 * in-memory state instead of failing every request.
 */
export class SharedKv {
  private opening: Promise<KV | null> | undefined;
  /** After a failed open, callers get null until this time (ms), then the open is tried again. */
  private retryAt = 0;
  private failures = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
    private readonly ttlMs: number,
    private readonly logger: Logger | undefined,
  ) {}

  open(): Promise<KV | null> {
    if (this.opening === undefined || (this.retryAt > 0 && Date.now() >= this.retryAt)) {
      this.retryAt = 0;
      this.opening = this.attempt().then(
        (kv) => kv,
        (err: unknown) => {
          this.failures++;
          this.retryAt = Date.now() + RETRY_MS;
          if (this.failures === 1 || this.failures % 100 === 0) {
            this.logger?.error(
              { err, bucket: this.bucket, failures: this.failures },
              "shared state unreachable (it needs JetStream: nats-server -js): using this daemon's memory meanwhile",
            );
          }
          return null;
        },
      );
    }
    return this.opening;
  }

  /** Create or bind the bucket; a second try covers two daemons creating it at the same moment. */
  private async attempt(): Promise<KV> {
    const make = () => this.nc.jetstream().views.kv(this.bucket, { history: 1, ttl: this.ttlMs, timeout: 2000 });
    try {
      return await make();
    } catch {
      return await make();
    }
  }
}

/** A KV key (letters, digits, `-_=`) for any string: the cluster agrees on it without escaping rules. */
export function kvKey(raw: string): string {
  return createHash("sha256").update(raw).digest("base64url");
}

import { createHash } from "node:crypto";
import type { KV, NatsConnection } from "nats";
import type { Logger } from "../log/index.js";

/**
 * A JetStream KV bucket opened on first use and shared by every daemon of
 * the cluster. `open()` resolves null (once logged) when JetStream is not
 * there, so a caller falls back to its in-memory state instead of failing
 * every request.
 */
export class SharedKv {
  private opening: Promise<KV | null> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly bucket: string,
    private readonly ttlMs: number,
    private readonly logger: Logger | undefined,
  ) {}

  open(): Promise<KV | null> {
    this.opening ??= this.nc
      .jetstream()
      .views.kv(this.bucket, { history: 1, ttl: this.ttlMs, timeout: 2000 })
      .catch((err: unknown) => {
        this.logger?.error({ err, bucket: this.bucket }, "shared state needs JetStream (nats-server -js): using this daemon's memory instead");
        return null;
      });
    return this.opening;
  }
}

/** A KV key (letters, digits, `-_=`) for any string: the cluster agrees on it without escaping rules. */
export function kvKey(raw: string): string {
  return createHash("sha256").update(raw).digest("base64url");
}

import { isAbsolute, resolve } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { PostgresStore } from "./postgres-store.js";
import { redactUrl } from "./redact-url.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./types.js";

/** Options of `createStore`, passed on to the implementation chosen. */
export interface CreateStoreOptions {
  /** Resolves a relative `sqlite:` path. Default: the current directory. */
  baseDir?: string;
  /** SQLite: how long to wait for another process's write lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** PostgreSQL: connections in the pool. Default 10. */
  poolSize?: number;
  /** PostgreSQL: receives idle-connection errors (URL redacted). Default: none. */
  logger?: Logger;
}

/**
 * Open the store a URL names: `sqlite:<path>` (`sqlite::memory:` for a private
 * in-memory database) or `postgres://` / `postgresql://`. Anything else is
 * NEXO_ERR_STORE_INVALID_URL; an unreachable database NEXO_ERR_STORE_CONNECT.
 * Error messages never contain the password.
 * @example const store = await createStore(config.store); await store.migrate("pollers", MIGRATIONS);
 */
export async function createStore(url: string, options: CreateStoreOptions = {}): Promise<Store> {
  if (typeof url === "string" && url.startsWith("sqlite:")) {
    let path = url.slice("sqlite:".length);
    if (path.startsWith("//")) path = path.slice(2); // sqlite:///abs/file.db
    if (path.length === 0) throw invalid(url);
    if (path !== ":memory:" && !isAbsolute(path)) path = resolve(options.baseDir ?? process.cwd(), path);
    return SqliteStore.open(path, { ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}) });
  }
  if (typeof url === "string" && /^postgres(ql)?:\/\/.+/.test(url)) {
    return PostgresStore.connect(url, { ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}), ...(options.logger ? { logger: options.logger } : {}) });
  }
  throw invalid(url);
}

function invalid(url: unknown): NexoError {
  const shown = typeof url === "string" ? redactUrl(url) : String(url);
  return new NexoError(ErrorCodes.STORE_INVALID_URL, `store must be sqlite:<path> or a postgres:// URL, got ${JSON.stringify(shown)}`, { field: "store" });
}

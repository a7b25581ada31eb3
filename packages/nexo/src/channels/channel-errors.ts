import { RpcError, RpcErrorCodes } from "../contract/index.js";
import { ErrorCodes, isNexoError, NexoError, type ErrorCode } from "../errors.js";
import { boundedData, clipText, errorMessage } from "../util/index.js";

/** Where a channel call was going, for the error's fields. */
export interface ChannelTarget {
  kind: string;
  instance: string | null;
  pluginKey: string;
  method: string;
  /** The plugin's respawn hint while it restarts. */
  retryAfterMs?: number;
}

const BY_RPC_CODE = new Map<number, ErrorCode>([
  [RpcErrorCodes.CHANNEL_CONNECTION, ErrorCodes.CHANNEL_CONNECTION],
  [RpcErrorCodes.CHANNEL_AUTHENTICATION, ErrorCodes.CHANNEL_AUTHENTICATION],
  [RpcErrorCodes.CHANNEL_RECIPIENT_INVALID, ErrorCodes.CHANNEL_RECIPIENT_INVALID],
  [RpcErrorCodes.CHANNEL_RATE_LIMITED, ErrorCodes.CHANNEL_RATE_LIMITED],
  [RpcErrorCodes.CHANNEL_UNSUPPORTED, ErrorCodes.CHANNEL_UNSUPPORTED],
  // A plugin that lists the kind but lacks the method: upstream maps it to "unsupported" too.
  [RpcErrorCodes.METHOD_NOT_FOUND, ErrorCodes.CHANNEL_UNSUPPORTED],
]);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A failed `channel.*` call as a NexoError with a stable code: the contract's
 * -33001..-33005 map one to one (CONNECTION, AUTHENTICATION,
 * RECIPIENT_INVALID with `data.recipient`, RATE_LIMITED with
 * `data.retry_after_secs`, UNSUPPORTED), -32601 is UNSUPPORTED, a missed
 * deadline TIMEOUT, a plugin restarting or stopped UNAVAILABLE (with
 * `data.retry_after_ms` while it respawns), anything else SEND_FAILED.
 * `details.rpcCode` keeps the wire code.
 */
export function toChannelError(err: unknown, target: ChannelTarget): NexoError {
  const base = { kind: target.kind, instance: target.instance, plugin: target.pluginKey, method: target.method };
  if (err instanceof RpcError) {
    const code = BY_RPC_CODE.get(err.code) ?? ErrorCodes.CHANNEL_SEND_FAILED;
    // A plugin's error reply may be a megabyte: its message is clipped and oversized data dropped before callers, logs and delivery statuses see them.
    const kept = boundedData(err.data);
    const wire = isObj(kept) ? kept : {};
    const data: Record<string, unknown> = { ...base, ...wire };
    if (code === ErrorCodes.CHANNEL_RATE_LIMITED) {
      const secs = Number(wire.retry_after_secs);
      data.retry_after_secs = Number.isFinite(secs) && secs >= 0 ? secs : null;
    }
    return new NexoError(code, `channel ${label(target)}: ${target.method} failed: ${clipText(err.message)}`, {
      pluginId: target.pluginKey,
      rpcCode: err.code,
      data,
      cause: err.message.length > 1024 || wire !== err.data ? new RpcError(err.code, clipText(err.message)) : err,
    });
  }
  if (isNexoError(err, ErrorCodes.HOST_REQUEST_TIMEOUT)) {
    return new NexoError(ErrorCodes.CHANNEL_TIMEOUT, `channel ${label(target)}: ${err.message}`, { pluginId: target.pluginKey, data: base, cause: err });
  }
  if (
    isNexoError(err) &&
    [ErrorCodes.HOST_PLUGIN_RESTARTED, ErrorCodes.HOST_PLUGIN_NOT_RUNNING, ErrorCodes.HOST_PLUGIN_EXITED, ErrorCodes.HOST_QUEUE_FULL].includes(err.code as never)
  ) {
    const data = target.retryAfterMs !== undefined ? { ...base, retry_after_ms: target.retryAfterMs } : base;
    return new NexoError(ErrorCodes.CHANNEL_UNAVAILABLE, `channel ${label(target)} is unavailable: ${err.message}`, { pluginId: target.pluginKey, data, cause: err });
  }
  if (err instanceof NexoError && err.code.startsWith("NEXO_ERR_CHANNEL_")) return err;
  const message = errorMessage(err);
  return new NexoError(ErrorCodes.CHANNEL_SEND_FAILED, `channel ${label(target)}: ${target.method} failed: ${message}`, { pluginId: target.pluginKey, data: base, cause: err });
}

function label(t: ChannelTarget): string {
  return t.instance === null ? t.kind : `${t.kind}.${t.instance}`;
}

/**
 * JSON-RPC and contract error codes (docs/contract.md, Errors), one table mapping
 * each number to a stable symbolic name.
 */
export const RpcErrorCodes = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  SHUTDOWN_FAILED: -32000,
  CHANNEL_CONNECTION: -33001,
  CHANNEL_AUTHENTICATION: -33002,
  CHANNEL_RECIPIENT_INVALID: -33003,
  CHANNEL_RATE_LIMITED: -33004,
  CHANNEL_UNSUPPORTED: -33005,
  LLM_CONNECTION: -33101,
  LLM_AUTHENTICATION: -33102,
  LLM_INVALID_REQUEST: -33103,
  LLM_RATE_LIMITED: -33104,
  LLM_UNSUPPORTED: -33105,
  TOOL_NOT_FOUND: -33401,
  TOOL_INVALID_ARGS: -33402,
  TOOL_EXECUTION_FAILED: -33403,
  TOOL_UNAVAILABLE: -33404,
  TOOL_DENIED: -33405,
} as const;

export type RpcErrorName = keyof typeof RpcErrorCodes;

const NAMES = new Map<number, RpcErrorName>(Object.entries(RpcErrorCodes).map(([k, v]) => [v, k as RpcErrorName]));

/** Symbolic name of a code: a table entry, `SERVER_ERROR` for the reserved -32001..-32099 band, else `UNKNOWN`. */
export function rpcCodeName(code: number): string {
  const n = NAMES.get(code);
  if (n) return n;
  if (code <= -32001 && code >= -32099) return "SERVER_ERROR";
  return "UNKNOWN";
}

/** The error object of a JSON-RPC error reply. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** An error that travels as a JSON-RPC error reply (and comes back as one). */
export class RpcError extends Error {
  readonly code: number;
  readonly data?: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    if (data !== undefined) this.data = data;
  }

  override get name(): string {
    return `RpcError(${rpcCodeName(this.code)})`;
  }

  toJSON(): JsonRpcErrorObject {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }

  /** Rebuild from a reply's error object (tolerates missing fields from sloppy peers). */
  static from(obj: JsonRpcErrorObject): RpcError {
    const code = typeof obj?.code === "number" ? obj.code : RpcErrorCodes.INTERNAL_ERROR;
    const message = typeof obj?.message === "string" ? obj.message : "unknown error";
    return new RpcError(code, message, obj?.data);
  }
}

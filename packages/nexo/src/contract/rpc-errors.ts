import { RpcErrorCodes } from "nexo-plugin-sdk/contract";

/** JSON-RPC and contract error codes (docs/contract.md, Errors): the table the TypeScript SDK defines, shared so the two ends cannot drift. */
export { RpcErrorCodes };

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

/** The `jsonrpc` member of every frame. */
export const JSONRPC_VERSION = "2.0";

export type JsonRpcId = string | number | null;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: JsonRpcId;
  method: string;
  params?: unknown;
}

export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: unknown;
}

export interface JsonRpcResponse {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result: unknown;
}

export interface JsonRpcErrorResponse {
  jsonrpc: "2.0";
  id: JsonRpcId;
  error: { code: number; message: string; data?: unknown };
}

export type JsonRpcFrame = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse | JsonRpcErrorResponse;

/** One frame as a line: compact JSON plus `\n`. Throws if the frame cannot be serialized (a BigInt, a cycle). */
export function serializeFrame(frame: JsonRpcFrame | Record<string, unknown>): string {
  return `${JSON.stringify(frame)}\n`;
}

/** `{jsonrpc: "2.0", id, result}`. */
export function buildResponse(id: JsonRpcId, result: unknown): JsonRpcResponse {
  return { jsonrpc: JSONRPC_VERSION, id, result };
}

/** `{jsonrpc: "2.0", id, error: {code, message, data?}}` (`data` left out when undefined). */
export function buildErrorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  return { jsonrpc: JSONRPC_VERSION, id, error: data === undefined ? { code, message } : { code, message, data } };
}

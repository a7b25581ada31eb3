import { buildErrorResponse, buildResponse } from "nexo-plugin-sdk/contract";
import type { JsonRpcErrorObject } from "./rpc-errors.js";

export type JsonRpcId = number | string | null;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: number | string;
  method: string;
  params?: unknown;
}
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: unknown;
}
export interface JsonRpcSuccess {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result: unknown;
}
export interface JsonRpcFailure {
  jsonrpc: "2.0";
  id: JsonRpcId;
  error: JsonRpcErrorObject;
}
export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;

/** A decoded frame sorted by kind; `invalid` carries the id to answer with (or null) and why. */
export type ClassifiedFrame =
  | { kind: "request"; frame: JsonRpcRequest }
  | { kind: "notification"; frame: JsonRpcNotification }
  | { kind: "response"; frame: JsonRpcResponse }
  | { kind: "invalid"; id: JsonRpcId; reason: string };

function isId(v: unknown): v is number | string {
  return (typeof v === "number" && Number.isFinite(v)) || typeof v === "string";
}

/** Strict JSON-RPC 2.0 classification of a parsed value. */
export function classifyFrame(value: unknown): ClassifiedFrame {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "invalid", id: null, reason: Array.isArray(value) ? "batches are not supported" : "frame must be a JSON object" };
  }
  const v = value as Record<string, unknown>;
  const id = isId(v.id) ? v.id : null;
  if (v.jsonrpc !== "2.0") return { kind: "invalid", id, reason: 'jsonrpc must be "2.0"' };
  if ("method" in v) {
    if (typeof v.method !== "string" || v.method.length === 0) return { kind: "invalid", id, reason: "method must be a non-empty string" };
    if (v.params !== undefined && (typeof v.params !== "object" || v.params === null)) {
      return { kind: "invalid", id, reason: "params must be an object or an array" };
    }
    if (!("id" in v)) return { kind: "notification", frame: v as unknown as JsonRpcNotification };
    if (!isId(v.id)) return { kind: "invalid", id: null, reason: "id must be a number or a string" };
    return { kind: "request", frame: v as unknown as JsonRpcRequest };
  }
  const hasResult = "result" in v;
  const hasError = "error" in v;
  if (hasResult === hasError) return { kind: "invalid", id, reason: "a response has exactly one of result and error" };
  if (!("id" in v) || !(isId(v.id) || v.id === null)) return { kind: "invalid", id: null, reason: "a response needs an id" };
  if (hasError) {
    const e = v.error as Record<string, unknown> | null;
    if (typeof e !== "object" || e === null || typeof e.code !== "number" || typeof e.message !== "string") {
      return { kind: "invalid", id, reason: "error must be {code: number, message: string}" };
    }
  }
  return { kind: "response", frame: v as unknown as JsonRpcResponse };
}

export function makeRequest(id: number | string, method: string, params?: unknown): JsonRpcRequest {
  return params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params };
}
export function makeNotification(method: string, params?: unknown): JsonRpcNotification {
  return params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params };
}
/** `{jsonrpc: "2.0", id, result}`: the SDK's `buildResponse`, so both ends answer in one shape. */
export const makeResult: (id: JsonRpcId, result: unknown) => JsonRpcSuccess = buildResponse;
/** `{jsonrpc: "2.0", id, error: {code, message, data?}}` (`data` left out when undefined): the SDK's `buildErrorResponse`. */
export const makeError: (id: JsonRpcId, code: number, message: string, data?: unknown) => JsonRpcFailure = buildErrorResponse;

/**
 * The wire contract as both ends of it use it: the Nexo host imports this
 * module (`nexo-plugin-sdk/contract`) instead of keeping its own copy, so the
 * error codes, the frame limits, the plugin id rule, the id generator, the
 * NDJSON reader and writer, the reply builders and the event shape a plugin
 * sees are the host's by construction. What only a host needs against untrusted peers (the depth
 * bound, reporting an over-long line at once, faults isolated per line) is
 * here as options and helpers the SDK leaves unused. The package root
 * exports the codes, the limit, the ids and `Event` to plugin authors too.
 */
export { Event, newEvent } from "./event.js";
export type { EventExtras } from "./event.js";
export { NdjsonDecoder, readFrames } from "./frame-reader.js";
export type { FrameProblem, NdjsonDecoderHandlers, NdjsonDecoderOptions } from "./frame-reader.js";
export { MAX_QUEUED_FRAMES, NdjsonWriter } from "./frame-writer.js";
export type { FrameSink, FrameWriterErrors, NdjsonWriterOptions } from "./frame-writer.js";
export { exceedsDepth, FrameTooLargeError, MAX_FRAME_BYTES, MAX_FRAME_DEPTH, previewLine } from "./framing.js";
export { nowIso, uuidv7 } from "./ids.js";
export { buildErrorResponse, buildResponse } from "./wire.js";

/**
 * JSON-RPC and contract error codes (docs/contract.md, Errors), one table mapping
 * each number to a stable symbolic name: the JSON-RPC range, then the
 * contract's bands (-330xx channels, -331xx LLM, -334xx tools).
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

/** A plugin id (also its channel kind): a lowercase letter, then up to 31 lowercase letters, digits or `_`. */
export const PLUGIN_ID_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

// The numbers and the id rule both ends of the wire agree on; contract.ts re-exports them.

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

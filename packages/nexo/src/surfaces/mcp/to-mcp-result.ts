import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { ToolContent, ToolResult } from "../../app/index.js";
import type { NexoError } from "../../errors.js";

/** Content item types MCP clients accept (ContentBlock); anything else is sent as its JSON text. */
const MCP_CONTENT_TYPES = new Set(["text", "image", "audio", "resource", "resource_link"]);

/** A ToolResult as MCP's CallToolResult: `is_error` -> `isError`, `structured_content` -> `structuredContent`. */
export function toMcpResult(result: ToolResult): CallToolResult {
  const out: CallToolResult = { content: result.content.map(toContentBlock), isError: result.is_error };
  const structured = result.structured_content ?? result.structuredContent;
  if (structured !== null && typeof structured === "object" && !Array.isArray(structured)) out.structuredContent = structured as Record<string, unknown>;
  return out;
}

/**
 * A failed call as a tool execution error (`isError: true`) the model can read
 * and act on (SEP-1303: invalid arguments included). `structuredContent.error`
 * carries the stable code, every violation and the retry hint.
 */
export function toMcpError(err: NexoError): CallToolResult {
  const data = (err.details.data ?? {}) as { violations?: unknown; retryAfterMs?: unknown };
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details.rpcCode !== undefined) error.rpc_code = err.details.rpcCode;
  if (Array.isArray(data.violations)) error.violations = data.violations;
  if (typeof data.retryAfterMs === "number") error.retry_after_ms = data.retryAfterMs;
  return { content: [{ type: "text", text: `${err.message} [${err.code}]` }], isError: true, structuredContent: { error } };
}

function toContentBlock(item: ToolContent): CallToolResult["content"][number] {
  if (item && typeof item === "object" && MCP_CONTENT_TYPES.has(item.type)) {
    if (item.type !== "text" || typeof item.text === "string") return item as CallToolResult["content"][number];
  }
  return { type: "text", text: JSON.stringify(item) ?? "null" };
}

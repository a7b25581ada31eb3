import type { ToolResult } from "./types.js";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Any tool return value as a ToolResult. A value that already has a `content`
 * array is passed through (with `is_error` made a boolean, `isError` accepted
 * too); a string becomes one text item; anything else becomes its JSON as
 * text, plus `structured_content` when it is an object.
 */
export function toToolResult(value: unknown): ToolResult {
  if (isRecord(value) && Array.isArray(value.content)) {
    if (typeof value.is_error === "boolean") return value as ToolResult;
    return { ...value, content: value.content, is_error: value.is_error === true || value.isError === true };
  }
  if (typeof value === "string") return { content: [{ type: "text", text: value }], is_error: false };
  const json = value === undefined ? "null" : JSON.stringify(value);
  const result: ToolResult = { content: [{ type: "text", text: json ?? "null" }], is_error: false };
  if (isRecord(value)) result.structured_content = value;
  return result;
}

import type { ErrorObject } from "ajv";

/**
 * One ajv error in the shape and wording every validator reports: `path` a JSON
 * Pointer to the offending property itself (an unknown or missing key, not its
 * parent object), `message` what is wrong with it.
 */
export function ajvViolation(e: ErrorObject): { path: string; message: string } {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === "required" && typeof p.missingProperty === "string") {
    return { path: `${e.instancePath}/${escapePointer(p.missingProperty)}`, message: "is required" };
  }
  if (e.keyword === "additionalProperties" && typeof p.additionalProperty === "string") {
    return { path: `${e.instancePath}/${escapePointer(p.additionalProperty)}`, message: "is not allowed" };
  }
  if (e.keyword === "enum" && Array.isArray(p.allowedValues)) {
    return { path: e.instancePath, message: `must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(", ")}` };
  }
  return { path: e.instancePath, message: e.message ?? e.keyword };
}

/** `s` as one JSON Pointer reference token (RFC 6901). */
function escapePointer(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

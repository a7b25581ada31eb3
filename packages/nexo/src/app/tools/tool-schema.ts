import type { Ajv } from "ajv";
import { toViolation, type InputViolation } from "../input-validator.js";

/** Checks arguments against a compiled schema: null when valid, else every violation. */
export type ArgsCheck = (args: Record<string, unknown>) => InputViolation[] | null;

/**
 * A tool's input schema as listed: arguments are always a JSON object, so a
 * schema without `type` gets `type: "object"` (MCP requires it); one with any
 * other type can never match and is refused (undefined).
 */
export function normalizeInputSchema(schema: unknown): Record<string, unknown> | undefined {
  if (schema === undefined || schema === null) return { type: "object" };
  if (typeof schema !== "object" || Array.isArray(schema)) return undefined;
  const s = schema as Record<string, unknown>;
  if (s.type === "object") return s;
  if (s.type === undefined) return { type: "object", ...s };
  return undefined;
}

/** Compile `schema` (all errors, formats). Throws when it is not a valid JSON Schema (unknown `$ref`, bad keyword value...). */
export function compileArgsCheck(ajv: Ajv, schema: Record<string, unknown>): ArgsCheck {
  // $id would make a second compile of the same schema (after a plugin restart) clash inside ajv; the registry needs no ids.
  const { $id: _id, ...rest } = schema;
  const validate = ajv.compile(rest);
  return (args) => (validate(args) ? null : (validate.errors ?? []).map(toViolation));
}

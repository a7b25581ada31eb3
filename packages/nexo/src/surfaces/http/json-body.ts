import type { FastifyInstance } from "fastify";
import { ErrorCodes, NexoError } from "../../errors.js";

/**
 * Deepest nesting of arrays and objects a request body may have (the top-level
 * value is depth 1). Deeper documents are refused before they are parsed:
 * code that walks parsed values recursively (validation, cloning,
 * serialization) would otherwise overflow the stack on them.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * True when `text` nests arrays/objects deeper than `max`. One pass over the
 * characters, brackets inside strings ignored; it does not validate the JSON
 * (the parser that runs next does).
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return false;
}

/**
 * True when an already parsed value nests arrays/objects deeper than `max`
 * (the value itself is depth 1). Iterative, so any depth is safe to check;
 * for values that did not come through a body parser (MCP over stdio).
 */
export function valueDepthExceeds(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Replace fastify's `application/json` parser on `http` with one that refuses
 * bodies nested deeper than `maxDepth` (400 NEXO_ERR_HTTP_JSON_TOO_DEEP) and
 * reads an empty DELETE/OPTIONS body as no body (clients such as the Python
 * MCP SDK send `Content-Type: application/json` on a body-less DELETE). The
 * rest is fastify's own parser: prototype-poisoning checks, errors, limits.
 */
export function installJsonBodyParser(http: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = http.getDefaultJsonParser("error", "ignore");
  http.removeContentTypeParser("application/json");
  http.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    if (text.length === 0 && (request.method === "DELETE" || request.method === "OPTIONS")) return done(null, undefined);
    if (jsonDepthExceeds(text, maxDepth)) {
      return done(new NexoError(ErrorCodes.HTTP_JSON_TOO_DEEP, `the JSON body nests arrays/objects deeper than ${maxDepth} levels`, { data: { maxDepth } }), undefined);
    }
    parse(request, text, done);
  });
}

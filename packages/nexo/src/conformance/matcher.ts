import { isDeepStrictEqual } from "node:util";
import { ownProperty } from "../util/index.js";

/** Names a vector can refer to: runner context (`plugin_id`, `kind`...), captured frames (`as`), the loop index `i`. */
export type Scope = Readonly<Record<string, unknown>>;

/** Outcome of matching one value; on failure, where (a JSON path from `$`) and why. */
export type MatchResult = { ok: true } | { ok: false; path: string; reason: string };

/** Operators a matcher may use (conformance/README.md, "Matchers"). */
export const MATCH_OPERATORS = ["$any", "$absent", "$type", "$regex", "$eq", "$ref", "$in", "$oneOf", "$not", "$each", "$contains", "$minLength"] as const;
/** Operators a template (a frame the runner sends) may use. */
export const TEMPLATE_OPERATORS = ["$ref", "$repeat"] as const;
const JSON_TYPES = ["string", "number", "integer", "boolean", "null", "object", "array"];
const MAX_REPEAT_CHARS = 8 * 1024 * 1024;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isOperatorObject = (v: unknown): v is Obj => isObj(v) && Object.keys(v).length > 0 && Object.keys(v).every((k) => k.startsWith("$"));
const OK: MatchResult = { ok: true };

/** Thrown for a vector that refers to a name the scope does not have, or misuses an operator. */
export class TemplateError extends Error {
  override name = "TemplateError";
}

/** Value at a dotted path (`call.params.id`, `chunks.0`) of the scope. */
export function lookup(scope: Scope, path: string): unknown {
  const [root, ...rest] = path.split(".");
  if (!(root in scope)) throw new TemplateError(`unknown name "${root}" in "${path}" (known: ${Object.keys(scope).join(", ")})`);
  let v: unknown = scope[root];
  for (const seg of rest) {
    if (Array.isArray(v) && /^\d+$/.test(seg)) v = v[Number(seg)];
    else if (isObj(v)) v = v[seg];
    else return undefined;
  }
  return v;
}

/** `${name.path}` inside a string, replaced by the value's text. */
export function interpolate(text: string, scope: Scope): string {
  if (!text.includes("${")) return text;
  return text.replace(/\$\{([A-Za-z_][\w.]*)\}/g, (_m, path: string) => {
    const v = lookup(scope, path);
    return typeof v === "string" ? v : JSON.stringify(v);
  });
}

/**
 * Build a concrete value from a template: strings are interpolated,
 * `{"$ref": "path"}` becomes the scope's value (type kept), and
 * `{"$repeat": {"text": "x", "count": n}}` becomes `text` repeated n times.
 */
export function resolveTemplate(t: unknown, scope: Scope): unknown {
  if (typeof t === "string") return interpolate(t, scope);
  if (Array.isArray(t)) return t.map((x) => resolveTemplate(x, scope));
  if (!isObj(t)) return t;
  if (isOperatorObject(t)) {
    const keys = Object.keys(t);
    if (keys.length !== 1) throw new TemplateError(`a template operator stands alone, got ${keys.join(", ")}`);
    if ("$ref" in t) return structuredClone(lookup(scope, String(t.$ref)));
    if ("$repeat" in t) {
      const r = t.$repeat as { text?: unknown; count?: unknown };
      if (!isObj(r) || typeof r.text !== "string" || !Number.isInteger(r.count) || (r.count as number) < 0) {
        throw new TemplateError('$repeat needs {"text": string, "count": integer >= 0}');
      }
      if (r.text.length * (r.count as number) > MAX_REPEAT_CHARS) throw new TemplateError(`$repeat would build more than ${MAX_REPEAT_CHARS} characters`);
      return r.text.repeat(r.count as number);
    }
    throw new TemplateError(`unknown template operator ${keys[0]} (templates know ${TEMPLATE_OPERATORS.join(", ")})`);
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(t)) out[k] = resolveTemplate(v, scope);
  return out;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function show(v: unknown): string {
  if (v === undefined) return "nothing (absent)";
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

const fail = (path: string, reason: string): MatchResult => ({ ok: false, path, reason });

/**
 * Match `actual` against a pattern (conformance/README.md, "Matchers").
 * Plain objects match by shape: every listed key must match, other keys are
 * allowed. Arrays match element by element and by length. Strings, numbers,
 * booleans and null match exactly (strings after `${}` interpolation). An
 * object whose keys all start with `$` is an operator object; all of its
 * operators must hold. `actual === undefined` means "the key is absent".
 */
export function matchValue(pattern: unknown, actual: unknown, scope: Scope, path = "$"): MatchResult {
  if (isOperatorObject(pattern)) return matchOperators(pattern, actual, scope, path);
  if (actual === undefined) return fail(path, `expected ${show(resolveForShow(pattern, scope))}, got nothing (absent)`);
  if (Array.isArray(pattern)) {
    if (!Array.isArray(actual)) return fail(path, `expected an array, got ${show(actual)}`);
    if (actual.length !== pattern.length) return fail(path, `expected ${pattern.length} element(s), got ${actual.length}`);
    for (let i = 0; i < pattern.length; i++) {
      const r = matchValue(pattern[i], actual[i], scope, `${path}[${i}]`);
      if (!r.ok) return r;
    }
    return OK;
  }
  if (isObj(pattern)) {
    if (!isObj(actual)) return fail(path, `expected an object, got ${show(actual)}`);
    for (const [k, p] of Object.entries(pattern)) {
      const r = matchValue(p, ownProperty(actual, k), scope, `${path}.${k}`);
      if (!r.ok) return r;
    }
    return OK;
  }
  const expected = typeof pattern === "string" ? interpolate(pattern, scope) : pattern;
  return expected === actual ? OK : fail(path, `expected ${show(expected)}, got ${show(actual)}`);
}

function resolveForShow(pattern: unknown, scope: Scope): unknown {
  try {
    return resolveTemplate(pattern, scope);
  } catch {
    return pattern;
  }
}

function matchOperators(p: Obj, actual: unknown, scope: Scope, path: string): MatchResult {
  for (const [op, arg] of Object.entries(p)) {
    const r = matchOperator(op, arg, actual, scope, path);
    if (!r.ok) return r;
  }
  return OK;
}

function matchOperator(op: string, arg: unknown, actual: unknown, scope: Scope, path: string): MatchResult {
  switch (op) {
    case "$absent":
      return actual === undefined ? OK : fail(path, `expected no such key, got ${show(actual)}`);
    case "$any":
      return actual !== undefined ? OK : fail(path, "expected a value, got nothing (absent)");
    case "$type": {
      const types = Array.isArray(arg) ? (arg as string[]) : [arg as string];
      const t = typeOf(actual);
      const ok = types.some((x) => x === t || (x === "integer" && Number.isInteger(actual)));
      return ok ? OK : fail(path, `expected type ${types.join(" or ")}, got ${actual === undefined ? "nothing (absent)" : `${t} ${show(actual)}`}`);
    }
    case "$regex":
      if (typeof actual !== "string") return fail(path, `expected a string matching /${arg}/, got ${show(actual)}`);
      return new RegExp(interpolate(String(arg), scope), "u").test(actual) ? OK : fail(path, `expected a string matching /${arg}/, got ${show(actual)}`);
    case "$eq":
    case "$ref": {
      const expected = op === "$eq" ? resolveTemplate(arg, scope) : lookup(scope, String(arg));
      return isDeepStrictEqual(expected, actual) ? OK : fail(path, `expected exactly ${show(expected)}, got ${show(actual)}`);
    }
    case "$in": {
      const list = lookup(scope, String(arg));
      if (!Array.isArray(list)) throw new TemplateError(`$in needs a list, but "${String(arg)}" is ${show(list)}`);
      return list.some((x) => isDeepStrictEqual(x, actual)) ? OK : fail(path, `expected one of ${show(list)}, got ${show(actual)}`);
    }
    case "$oneOf": {
      const reasons: string[] = [];
      for (const alt of arg as unknown[]) {
        const r = matchValue(alt, actual, scope, path);
        if (r.ok) return OK;
        reasons.push(r.reason);
      }
      return fail(path, `matched none of ${reasons.length} alternatives (${reasons.join("; ")})`);
    }
    case "$not":
      return matchValue(arg, actual, scope, path).ok ? fail(path, `expected anything but ${show(arg)}, got ${show(actual)}`) : OK;
    case "$each": {
      if (!Array.isArray(actual)) return fail(path, `expected an array, got ${show(actual)}`);
      for (let i = 0; i < actual.length; i++) {
        const r = matchValue(arg, actual[i], scope, `${path}[${i}]`);
        if (!r.ok) return r;
      }
      return OK;
    }
    case "$contains": {
      if (!Array.isArray(actual)) return fail(path, `expected an array, got ${show(actual)}`);
      return actual.some((x) => matchValue(arg, x, scope, path).ok) ? OK : fail(path, `expected an element matching ${show(arg)}, got ${show(actual)}`);
    }
    case "$minLength": {
      const len = typeof actual === "string" || Array.isArray(actual) ? actual.length : undefined;
      if (len === undefined) return fail(path, `expected a string or array, got ${show(actual)}`);
      return len >= (arg as number) ? OK : fail(path, `expected length >= ${arg}, got ${len}`);
    }
    default:
      throw new TemplateError(`unknown matcher operator ${op}`);
  }
}

/**
 * Static check of a matcher: every `$` operator is known and has the argument
 * it needs, and operators are not mixed with plain keys. Returns problems as
 * `"<path>: <what>"`; empty when the matcher is well formed.
 */
export function checkMatcher(pattern: unknown, path = "$"): string[] {
  if (Array.isArray(pattern)) return pattern.flatMap((x, i) => checkMatcher(x, `${path}[${i}]`));
  if (!isObj(pattern)) return [];
  const keys = Object.keys(pattern);
  const ops = keys.filter((k) => k.startsWith("$"));
  if (ops.length === 0) return keys.flatMap((k) => checkMatcher(pattern[k], `${path}.${k}`));
  if (ops.length !== keys.length) return [`${path}: operators (${ops.join(", ")}) cannot be mixed with plain keys (${keys.filter((k) => !k.startsWith("$")).join(", ")})`];
  const problems: string[] = [];
  for (const op of ops) {
    const arg = pattern[op];
    const at = `${path}.${op}`;
    switch (op) {
      case "$any":
      case "$absent":
        if (arg !== true) problems.push(`${at}: must be true`);
        break;
      case "$type": {
        const types = Array.isArray(arg) ? arg : [arg];
        if (types.length === 0 || types.some((t) => !JSON_TYPES.includes(t as string))) problems.push(`${at}: must name one of ${JSON_TYPES.join(", ")} (or a list of them)`);
        break;
      }
      case "$regex":
        if (typeof arg !== "string") problems.push(`${at}: must be a string`);
        else
          try {
            // Interpolations are filled at run time; check the rest with a placeholder.
            new RegExp(arg.replace(/\$\{[^}]*\}/g, "x"), "u");
          } catch (err) {
            problems.push(`${at}: ${(err as Error).message}`);
          }
        break;
      case "$ref":
      case "$in":
        if (typeof arg !== "string" || !/^[A-Za-z_][\w.]*$/.test(arg)) problems.push(`${at}: must be a dotted name`);
        break;
      case "$eq":
        break;
      case "$oneOf":
        if (!Array.isArray(arg) || arg.length === 0) problems.push(`${at}: must be a non-empty array of matchers`);
        else problems.push(...arg.flatMap((x, i) => checkMatcher(x, `${at}[${i}]`)));
        break;
      case "$not":
      case "$each":
      case "$contains":
        problems.push(...checkMatcher(arg, at));
        break;
      case "$minLength":
        if (!Number.isInteger(arg) || (arg as number) < 0) problems.push(`${at}: must be an integer >= 0`);
        break;
      default:
        problems.push(`${at}: unknown operator (known: ${MATCH_OPERATORS.join(", ")})`);
    }
  }
  return problems;
}

/** Static check of a template (a frame the runner sends). */
export function checkTemplate(t: unknown, path = "$"): string[] {
  if (Array.isArray(t)) return t.flatMap((x, i) => checkTemplate(x, `${path}[${i}]`));
  if (!isObj(t)) return [];
  if (isOperatorObject(t)) {
    const keys = Object.keys(t);
    if (keys.length !== 1 || !(TEMPLATE_OPERATORS as readonly string[]).includes(keys[0])) {
      return [`${path}: a template operator is one of ${TEMPLATE_OPERATORS.join(", ")} and stands alone`];
    }
    return [];
  }
  return Object.entries(t).flatMap(([k, v]) => checkTemplate(v, `${path}.${k}`));
}

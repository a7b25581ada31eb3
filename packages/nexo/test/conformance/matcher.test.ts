import assert from "node:assert/strict";
import { test } from "node:test";
import { checkMatcher, checkTemplate, interpolate, matchValue, resolveTemplate, TemplateError } from "../../src/conformance/index.js";

const scope = { kind: "echo", n: 3, call: { id: 7, params: { q: "x" } }, list: [1, 2] };
const ok = (p: unknown, a: unknown): boolean => matchValue(p, a, scope).ok;

test("conformance matcher - objects match by shape, arrays by element and length, scalars exactly", () => {
  assert.ok(ok({ a: 1 }, { a: 1, extra: true }), "extra keys are allowed");
  assert.ok(!ok({ a: 1 }, { a: 2 }));
  assert.ok(!ok({ a: 1 }, { b: 1 }), "a listed key must be present");
  assert.ok(ok([1, { b: 2 }], [1, { b: 2, c: 3 }]));
  assert.ok(!ok([1, 2], [1, 2, 3]), "arrays must have the same length");
  assert.ok(!ok("1", 1), "no type coercion");
  assert.ok(ok(null, null));
  assert.ok(!ok(null, undefined), "null is not absent");
  assert.ok(ok("plugin.inbound.${kind}.x", "plugin.inbound.echo.x"), "strings are interpolated");
  const r = matchValue({ result: { tools: { $absent: true } } }, { result: { tools: [] } }, scope);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.path, "$.result.tools");
});

test("conformance matcher - each operator accepts what it should and refuses the rest", () => {
  assert.ok(ok({ $any: true }, null) && !ok({ a: { $any: true } }, {}));
  assert.ok(ok({ a: { $absent: true } }, {}) && !ok({ a: { $absent: true } }, { a: null }));
  assert.ok(ok({ $type: "integer" }, 3) && !ok({ $type: "integer" }, 3.5) && ok({ $type: ["string", "null"] }, null));
  assert.ok(ok({ $type: "array" }, []) && !ok({ $type: "object" }, []));
  assert.ok(ok({ $regex: "^plugin\\.inbound\\.${kind}$" }, "plugin.inbound.echo") && !ok({ $regex: "^a" }, 1));
  assert.ok(ok({ $eq: { a: [1] } }, { a: [1] }) && !ok({ $eq: { a: [1] } }, { a: [1], b: 2 }), "$eq is exact, not by shape");
  assert.ok(ok({ $eq: { s: { $repeat: { text: "ab", count: 3 } } } }, { s: "ababab" }), "$eq resolves templates");
  assert.ok(ok({ $ref: "call.id" }, 7) && !ok({ $ref: "call.id" }, "7"));
  assert.ok(ok({ $oneOf: [4096, { $absent: true }] }, undefined) && ok({ $oneOf: [4096, { $absent: true }] }, 4096) && !ok({ $oneOf: [1, 2] }, 3));
  assert.ok(ok({ $not: -32700 }, -32601) && !ok({ $not: -32700 }, -32700));
  assert.ok(ok({ $each: { $type: "number" } }, [1, 2]) && !ok({ $each: { $type: "number" } }, [1, "2"]) && ok({ $each: { x: 1 } }, []));
  assert.ok(ok({ $contains: { name: "p" } }, [{ name: "q" }, { name: "p", x: 1 }]) && !ok({ $contains: { name: "p" } }, []));
  assert.ok(ok({ $minLength: 2 }, "ab") && ok({ $minLength: 1 }, [0]) && !ok({ $minLength: 1 }, ""));
  assert.ok(ok({ $type: "array", $minLength: 1, $each: { $type: "number" } }, [1]), "several operators: all must hold");
  assert.ok(!ok({ $type: "array", $minLength: 1 }, []));
});

test("conformance matcher - templates: $ref keeps the type, $repeat builds strings, unknown names throw", () => {
  assert.deepEqual(resolveTemplate({ id: { $ref: "call.id" }, t: "plugin.outbound.${kind}", n: "${n}", l: { $ref: "list" } }, scope), {
    id: 7,
    t: "plugin.outbound.echo",
    n: "3",
    l: [1, 2],
  });
  assert.equal((resolveTemplate({ $repeat: { text: "x", count: 5 } }, scope) as string).length, 5);
  assert.equal(interpolate("${call.params.q}-${list.1}", scope), "x-2");
  assert.throws(() => resolveTemplate("${nope}", scope), TemplateError);
  assert.throws(() => resolveTemplate({ $repeat: { text: "x" } }, scope), TemplateError);
  assert.throws(() => resolveTemplate({ $ref: "a", $repeat: {} }, scope), TemplateError);
});

test("conformance matcher - static checks name the path of each malformed operator", () => {
  assert.deepEqual(checkMatcher({ a: { $type: "string" }, b: [{ $regex: "^x${kind}" }] }), []);
  const problems = checkMatcher({ a: { $nope: 1 }, b: { $type: "text" }, c: { $regex: "(" }, d: { $any: 1 }, e: { $eq: 1, plain: 2 }, f: { $oneOf: [] } });
  assert.equal(problems.length, 6, problems.join("\n"));
  for (const field of ["$.a.$nope", "$.b.$type", "$.c.$regex", "$.d.$any", "$.e", "$.f.$oneOf"])
    assert.ok(
      problems.some((p) => p.startsWith(`${field}:`)),
      field,
    );
  assert.deepEqual(checkTemplate({ a: { $ref: "x" }, b: { $repeat: { text: "x", count: 1 } } }), []);
  assert.equal(checkTemplate({ a: { $type: "string" } }).length, 1);
});

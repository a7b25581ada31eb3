import assert from "node:assert/strict";
import { test } from "node:test";
import { errorMessage } from "../../src/util/index.js";

test("util - errorMessage gives one line of text for anything thrown", () => {
  assert.equal(errorMessage(new TypeError("boom")), "boom");
  assert.equal(errorMessage("plain"), "plain");
  assert.equal(errorMessage({ code: 7 }), '{"code":7}');
  assert.equal(errorMessage(42), "42");
  assert.equal(errorMessage(null), "null");
  // Values JSON cannot write still give text, never undefined.
  assert.equal(errorMessage(undefined), "undefined");
  assert.equal(errorMessage(Symbol("s")), "Symbol(s)");
  assert.equal(typeof errorMessage(() => 1), "string");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(errorMessage(cyclic), "[object Object]");
});

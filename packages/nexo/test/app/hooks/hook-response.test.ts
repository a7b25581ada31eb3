import assert from "node:assert/strict";
import { test } from "node:test";
import { isHookName, readHookResponse } from "../../../src/app/hooks/index.js";

test("hooks - a reply is read as upstream's HookResponse: {} and null allow, abort or block blocks, transform needs a string body", () => {
  for (const allow of [null, undefined, {}, { decision: "allow" }, { abort: false }]) {
    const r = readHookResponse(allow);
    assert.ok(r.ok && !r.block && r.body === undefined && r.override === undefined, JSON.stringify(allow));
  }
  const legacy = readHookResponse({ abort: true, reason: "spam" });
  assert.ok(legacy.ok && legacy.block && legacy.reason === "spam");
  const block = readHookResponse({ decision: "block", do_not_reply_again: true });
  assert.ok(block.ok && block.block && block.doNotReplyAgain);
  const transform = readHookResponse({ decision: "transform", transformed_body: "Hasta luego" });
  assert.ok(transform.ok && !transform.block && transform.body === "Hasta luego");
  const noDecision = readHookResponse({ transformed_body: "ignored without decision transform" });
  assert.ok(noDecision.ok && noDecision.body === undefined);
  const badOverride = readHookResponse({ override: "not a map" });
  assert.ok(badOverride.ok && badOverride.override === undefined && badOverride.ignoredOverride);
  const override = readHookResponse({ override: { args: { a: 1 } } });
  assert.ok(override.ok && override.override !== undefined && !override.ignoredOverride);
  for (const bad of ["allow", 1, true, [{}]]) assert.equal(readHookResponse(bad).ok, false, JSON.stringify(bad));
});

test("hooks - hook point names are the three this host fires", () => {
  assert.deepEqual(["before_message", "before_tool_call", "before_outbound", "after_message", "BEFORE_MESSAGE"].map(isHookName), [true, true, true, false, false]);
});

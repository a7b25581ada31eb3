import assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeInputSchema, publicToolName, toToolResult } from "../../../src/app/tools/index.js";
import { Limiter } from "../../../src/util/index.js";

test("tools - publicToolName joins key and name with _ and maps every other character outside [A-Za-z0-9_-] to _", () => {
  assert.equal(publicToolName("billing", "stripe.create_invoice"), "billing_stripe_create_invoice");
  assert.equal(publicToolName("telegram.sales", "send"), "telegram_sales_send");
  assert.equal(publicToolName("calc", "add-one"), "calc_add-one");
  assert.equal(publicToolName("a".repeat(32), "b".repeat(95)), `${"a".repeat(32)}_${"b".repeat(95)}`, "128 characters is the limit");
  assert.equal(publicToolName("a".repeat(32), "b".repeat(96)), undefined);
});

test("tools - toToolResult passes {content, is_error} through and wraps anything else", () => {
  const r = { content: [{ type: "text", text: "x" }], is_error: false, extra: 1 };
  assert.equal(toToolResult(r), r, "already the contract's shape: passed through untouched");
  assert.deepEqual(toToolResult({ content: [], isError: true }), { content: [], isError: true, is_error: true });
  assert.deepEqual(toToolResult("hi"), { content: [{ type: "text", text: "hi" }], is_error: false });
  assert.deepEqual(toToolResult(undefined), { content: [{ type: "text", text: "null" }], is_error: false });
  assert.deepEqual(toToolResult([1, 2]), { content: [{ type: "text", text: "[1,2]" }], is_error: false });
  assert.deepEqual(toToolResult({ a: 1 }), { content: [{ type: "text", text: '{"a":1}' }], is_error: false, structured_content: { a: 1 } });
});

test("tools - normalizeInputSchema: arguments are objects, so no type means object and any other type is refused", () => {
  assert.deepEqual(normalizeInputSchema(undefined), { type: "object" });
  assert.deepEqual(normalizeInputSchema({ properties: {} }), { type: "object", properties: {} });
  assert.deepEqual(normalizeInputSchema({ type: "object" }), { type: "object" });
  assert.equal(normalizeInputSchema({ type: "string" }), undefined);
  assert.equal(normalizeInputSchema([]), undefined);
});

test("tools - the call limiter grants up to maxInFlight at once, queues the rest in order, refuses past the queue bound, times waiters out", async () => {
  const l = new Limiter(2, 2);
  assert.equal(l.acquire(1000), true);
  assert.equal(l.acquire(1000), true);
  const order: string[] = [];
  const third = (l.acquire(1000) as Promise<void>).then(() => order.push("third"));
  const fourth = (l.acquire(1000) as Promise<void>).then(() => order.push("fourth"));
  await assert.rejects(l.acquire(1000) as Promise<void>, (why) => why === "queue_full");
  assert.equal(l.queued, 2);
  l.release();
  l.release();
  await Promise.all([third, fourth]);
  assert.deepEqual(order, ["third", "fourth"]);
  assert.equal(l.inFlight, 2, "slots were handed over, not freed");
  await assert.rejects(l.acquire(10) as Promise<void>, (why) => why === "timeout");
  assert.equal(l.queued, 0, "a timed-out waiter leaves the queue");
  l.release();
  l.release();
  assert.equal(l.inFlight, 0);
  assert.equal(l.acquire(1000), true);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { publicToolName } from "../../../src/app/tools/index.js";

test("tool names - a plugin's own name gets the <plugin_key>_ prefix, dots become _", () => {
  assert.equal(publicToolName("billing", "stripe.create_invoice"), "billing_stripe_create_invoice");
  assert.equal(publicToolName("calc", "add"), "calc_add");
});

test("tool names - a name already in the plugin's namespace (<id>_... or ext_<id>_...) keeps it: no second prefix", () => {
  assert.equal(publicToolName("refpy", "refpy_echo"), "refpy_echo");
  assert.equal(publicToolName("marketing", "ext_marketing_lead_route"), "ext_marketing_lead_route");
  // Only the whole id counts: "refpyx_echo" is not in refpy's namespace, and the bare prefix is no name.
  assert.equal(publicToolName("refpy", "refpyx_echo"), "refpy_refpyx_echo");
  assert.equal(publicToolName("refpy", "refpy_"), "refpy_refpy_");
});

test("tool names - under an instance key the id inside the name becomes the key, so instances never collide", () => {
  assert.equal(publicToolName("telegram.sales", "telegram_send"), "telegram_sales_send");
  assert.equal(publicToolName("telegram.support", "telegram_send"), "telegram_support_send");
  assert.equal(publicToolName("telegram.sales", "ext_telegram_pin"), "ext_telegram_sales_pin");
  assert.equal(publicToolName("telegram.sales", "reply"), "telegram_sales_reply");
});

test("tool names - a public name over 128 characters is not offered", () => {
  assert.equal(publicToolName("p", `p_${"x".repeat(126)}`), `p_${"x".repeat(126)}`);
  assert.equal(publicToolName("p", `p_${"x".repeat(127)}`), undefined);
});

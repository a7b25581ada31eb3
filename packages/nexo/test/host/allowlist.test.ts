import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveAllowlist, isPatternAllowed, isTopicAllowed, patternCovers } from "../../src/host/index.js";

test("host - allowlist derives outbound, inbound and delivery topics per channel kind", () => {
  const a = deriveAllowlist(["slack"]);
  assert.deepEqual(a.outbound, ["plugin.outbound.slack", "plugin.outbound.slack.>"]);
  assert.deepEqual(a.inbound, ["plugin.inbound.slack", "plugin.inbound.slack.>", "plugin.delivery.slack", "plugin.delivery.slack.>"]);
});

test("host - allowlist accepts own topics and refuses others", () => {
  const a = deriveAllowlist(["slack", "sms"]);
  for (const t of ["plugin.inbound.slack", "plugin.inbound.slack.team1", "plugin.delivery.sms", "plugin.inbound.sms.a.b"]) {
    assert.equal(isTopicAllowed(a.inbound, t), true, t);
  }
  for (const t of ["agent.route.x", "plugin.inbound.telegram", "plugin.outbound.slack", "plugin.inbound", "plugin.inbound.slackx", "plugin.lifecycle.slack.crashed"]) {
    assert.equal(isTopicAllowed(a.inbound, t), false, t);
  }
});

test("host - allowlist with an instance label narrows to that instance", () => {
  const a = deriveAllowlist(["telegram"], "support");
  assert.equal(isTopicAllowed(a.inbound, "plugin.inbound.telegram.support"), true);
  assert.equal(isTopicAllowed(a.inbound, "plugin.inbound.telegram.sales"), false);
  assert.equal(isTopicAllowed(a.inbound, "plugin.inbound.telegram"), false);
  assert.equal(isTopicAllowed(a.outbound, "plugin.outbound.telegram.support"), true);
  assert.equal(isTopicAllowed(a.outbound, "plugin.outbound.telegram.sales"), false);
});

test("host - patternCovers decides whether a requested subscription stays inside the allowlist", () => {
  const cases: Array<[string, string, boolean]> = [
    ["plugin.outbound.k.>", "plugin.outbound.k.x", true],
    ["plugin.outbound.k.>", "plugin.outbound.k.*", true],
    ["plugin.outbound.k.>", "plugin.outbound.k.>", true],
    ["plugin.outbound.k.>", "plugin.outbound.k", false],
    ["plugin.outbound.k.>", "plugin.outbound.*.x", false],
    ["plugin.outbound.k.>", "plugin.outbound.>", false],
    ["plugin.outbound.k.>", ">", false],
    ["plugin.outbound.k", "plugin.outbound.k", true],
    ["plugin.outbound.k", "plugin.outbound.*", false],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.*.c", true],
    ["a.*.c", "a.>", false],
  ];
  for (const [allowed, pattern, expected] of cases) assert.equal(patternCovers(allowed, pattern), expected, `${allowed} covers ${pattern}`);
  assert.equal(isPatternAllowed(deriveAllowlist(["k"]).outbound, "plugin.outbound.k"), true);
  assert.equal(isPatternAllowed(deriveAllowlist(["k"]).outbound, "plugin.>"), false);
});

test("host - allowlist: each topic-form tool adds exactly its own reply topic, nothing wider", () => {
  const a = deriveAllowlist(["billing"], undefined, ["stripe.create_invoice"]);
  assert.equal(isTopicAllowed(a.inbound, "plugin.tool.stripe.create_invoice.reply"), true);
  for (const t of ["plugin.tool.stripe.create_invoice", "plugin.tool.stripe.refund.reply", "plugin.tool.stripe.create_invoice.reply.x", "plugin.tool.other.reply"]) {
    assert.equal(isTopicAllowed(a.inbound, t), false, t);
  }
  assert.deepEqual(a.outbound, ["plugin.outbound.billing", "plugin.outbound.billing.>"], "calls are delivered by the host, not subscribed to");
});

test("host - allowlist adds the manifest's own broker patterns as declared, once each", () => {
  const a = deriveAllowlist(["google"], undefined, [], { subscribe: ["plugin.outbound.google", "plugin.google.admin.>", "_inbox.>"], publish: ["crm.events.lead_created"] });
  assert.deepEqual(a.outbound, ["plugin.outbound.google", "plugin.outbound.google.>", "plugin.google.admin.>", "_inbox.>"]);
  assert.equal(isTopicAllowed(a.inbound, "crm.events.lead_created"), true);
  assert.equal(isTopicAllowed(a.inbound, "crm.events.other"), false);
  assert.equal(isPatternAllowed(a.outbound, "plugin.google.admin.list"), true);
});

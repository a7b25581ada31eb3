import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveInstance, topicFor } from "../src/instance.js";

test("telegram-bot-ts instance - the host's NEXO_PLUGIN_INSTANCE, else --instance from args; a mismatch or a bad label is refused", () => {
  assert.equal(resolveInstance([], { NEXO_PLUGIN_INSTANCE: "support-bot" }), "support-bot");
  assert.equal(resolveInstance(["--instance", "sales-bot"], {}), "sales-bot");
  assert.equal(resolveInstance(["--instance=sales-bot"], {}), "sales-bot");
  assert.equal(resolveInstance(["--instance", "a"], { NEXO_PLUGIN_INSTANCE: "a" }), "a");
  assert.equal(resolveInstance([], {}), undefined);
  assert.throws(() => resolveInstance(["--instance", "b"], { NEXO_PLUGIN_INSTANCE: "a" }), /differs from NEXO_PLUGIN_INSTANCE/);
  assert.throws(() => resolveInstance(["--instance", "Bad.Label"], {}), /must match/);
  assert.equal(topicFor("plugin.inbound", "a"), "plugin.inbound.telegram.a");
  assert.equal(topicFor("plugin.outbound", undefined), "plugin.outbound.telegram");
});

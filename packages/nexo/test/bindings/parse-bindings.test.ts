import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBindings } from "../../src/bindings/index.js";
import { normalizeConfig, type BindingConfig } from "../../src/config/index.js";
import { ErrorCodes, isNexoError, violationLine } from "../../src/errors.js";

/** The refusal's violations as the lines its message shows (`<JSON Pointer>: <message>`). */
function violationsOf(entries: BindingConfig[]): string[] {
  try {
    parseBindings(entries);
  } catch (err) {
    assert.ok(isNexoError(err, ErrorCodes.BINDING_INVALID), String(err));
    const lines = (err.details.data?.violations ?? []).map(violationLine);
    for (const line of lines) assert.ok(err.message.includes(line), `the message shows ${line}`);
    return lines;
  }
  return [];
}

test("bindings config - defaults: outbound auto, inputs payload, concurrency 1, queue 256, name <workflow>-<index>", () => {
  const [a, b] = parseBindings([
    { channel: "echo", workflow: "greet" },
    { inbound: "plugin.inbound.webhook.>", workflow: "triage" },
  ]);
  assert.deepEqual(a, {
    name: "greet-0",
    patterns: ["plugin.inbound.echo", "plugin.inbound.echo.>"],
    workflow: "greet",
    outbound: { mode: "auto" },
    inputs: "payload",
    concurrency: 1,
    queueSize: 256,
  });
  assert.deepEqual(b.patterns, ["plugin.inbound.webhook.>"]);
  assert.equal(b.name, "triage-1");
});

test("bindings config - channel + instance targets that one instance; explicit outbound topics and none", () => {
  const [a, b, c] = parseBindings([
    { name: "sales", channel: "telegram", instance: "sales-bot", workflow: "w" },
    { inbound: "plugin.inbound.webhook", workflow: "w", outbound: "plugin.outbound.sms" },
    { inbound: "plugin.inbound.webhook", workflow: "w", outbound: "none", inputs: "event", concurrency: 8, queueSize: 10 },
  ]);
  assert.deepEqual(a.patterns, ["plugin.inbound.telegram.sales-bot", "plugin.inbound.telegram.sales-bot.>"]);
  assert.deepEqual(b.outbound, { mode: "topic", topic: "plugin.outbound.sms" });
  assert.deepEqual(c.outbound, { mode: "none" });
  assert.equal(c.inputs, "event");
  assert.equal(c.concurrency, 8);
  assert.equal(c.queueSize, 10);
});

/** One bad entry per rule: the violation must name the field. */
const BAD: Array<[string, BindingConfig, string]> = [
  ["no inbound nor channel", { workflow: "w" }, "/bindings/0/inbound:"],
  ["both inbound and channel", { workflow: "w", inbound: "plugin.inbound.a", channel: "a" }, "/bindings/0/inbound:"],
  ["inbound outside plugin.inbound", { workflow: "w", inbound: "workflow.*.completed" }, "/bindings/0/inbound:"],
  ["inbound not a pattern", { workflow: "w", inbound: "plugin.inbound..x" }, "/bindings/0/inbound:"],
  ["instance with inbound", { workflow: "w", inbound: "plugin.inbound.a", instance: "x" }, "/bindings/0/instance:"],
  ["bad channel kind", { workflow: "w", channel: "Bad-Kind" }, "/bindings/0/channel:"],
  ["bad instance", { workflow: "w", channel: "a", instance: "Nope!" }, "/bindings/0/instance:"],
  ["outbound with wildcard", { workflow: "w", channel: "a", outbound: "plugin.outbound.*" }, "/bindings/0/outbound:"],
  ["outbound feeding itself", { workflow: "w", inbound: "plugin.inbound.>", outbound: "plugin.inbound.a" }, "/bindings/0/outbound:"],
  ["bad inputs", { workflow: "w", channel: "a", inputs: "body" as never }, "/bindings/0/inputs:"],
  ["concurrency 0", { workflow: "w", channel: "a", concurrency: 0 }, "/bindings/0/concurrency:"],
  ["queue too big", { workflow: "w", channel: "a", queueSize: 2 ** 21 }, "/bindings/0/queue_size:"],
  ["bad name", { workflow: "w", channel: "a", name: "Has Space" }, "/bindings/0/name:"],
  ["no workflow", { channel: "a" } as BindingConfig, "/bindings/0/workflow:"],
];

for (const [what, entry, field] of BAD) {
  test(`bindings config - refused: ${what}`, () => {
    const v = violationsOf([entry]);
    assert.ok(
      v.some((x) => x.startsWith(field)),
      `expected ${field}, got ${JSON.stringify(v)}`,
    );
  });
}

test("bindings config - every problem is listed at once, duplicates named", () => {
  const v = violationsOf([
    { name: "dup", channel: "a", workflow: "w" },
    { name: "dup", channel: "b", workflow: "w", concurrency: -1 },
  ]);
  assert.equal(v.length, 2);
  assert.match(v[0], /^\/bindings\/1\/name: "dup" is used by another binding/);
  assert.match(v[1], /^\/bindings\/1\/concurrency: /);
});

test("bindings config - nexo.yaml shape is checked when the config loads (unknown keys, types), queue_size mapped", () => {
  const ok = normalizeConfig({ bindings: [{ channel: "echo", workflow: "greet", queue_size: 5 }] }, null, "/tmp");
  assert.deepEqual(ok.bindings, [{ channel: "echo", workflow: "greet", queueSize: 5 }]);
  for (const bad of [[{ channel: "echo" }], [{ channel: "echo", workflow: "g", typo: 1 }], [{ channel: "echo", workflow: "g", concurrency: "2" }], { not: "a list" }]) {
    assert.throws(
      () => normalizeConfig({ bindings: bad }, null, "/tmp"),
      (e: any) => e.code === ErrorCodes.CONFIG_INVALID,
      JSON.stringify(bad),
    );
  }
});

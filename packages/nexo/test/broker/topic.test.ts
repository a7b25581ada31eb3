import assert from "node:assert/strict";
import { test } from "node:test";
import { matchTopic, TopicTrie, validatePattern, validateTopic } from "../../src/broker/index.js";
import { ErrorCodes, isNexoError } from "../../src/errors.js";

test("broker - topic validation rejects empty segments, wildcards and whitespace", () => {
  for (const good of ["a", "a.b", "plugin.inbound.echo", "x-y_z.1"]) assert.doesNotThrow(() => validateTopic(good), good);
  for (const bad of ["", ".", "a.", ".a", "a..b", "a.*", "a.>", ">", "a b", "a.b*", "a.>b", "x".repeat(600)]) {
    assert.throws(() => validateTopic(bad), (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_TOPIC), JSON.stringify(bad));
  }
});

test("broker - pattern validation: * is one whole segment, > only last", () => {
  for (const good of [">", "*", "a.*", "*.b", "a.*.c", "a.>", "*.>", "a.b.c"]) assert.doesNotThrow(() => validatePattern(good), good);
  for (const bad of ["", "a..b", "a.", ".a", ">.a", "a.>.b", "a*", "a.b*", "a.>x", "a. b"]) {
    assert.throws(() => validatePattern(bad), (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_PATTERN), JSON.stringify(bad));
  }
});

const TABLE: Array<[string, string, boolean]> = [
  ["a.b.c", "a.b.c", true],
  ["a.b.c", "a.b", false],
  ["a.b", "a.b.c", false],
  [">", "a", true],
  [">", "a.b.c", true],
  ["*", "a", true],
  ["*", "a.b", false],
  ["*.b.c", "a.b.c", true],
  ["a.*.c", "a.b.c", true],
  ["a.b.*", "a.b.c", true],
  ["a.b.*", "a.b", false],
  ["a.b.*", "a.b.c.d", false],
  ["a.*.c", "a.b.d", false],
  ["a.>", "a", false],
  ["a.>", "a.b", true],
  ["a.>", "a.b.c.d", true],
  ["*.>", "a", false],
  ["*.>", "a.b", true],
  ["plugin.inbound.>", "plugin.inbound.echo", true],
  ["plugin.inbound.>", "plugin.outbound.echo", false],
  ["plugin.*.echo", "plugin.inbound.echo", true],
];

test("broker - matchTopic follows the table", () => {
  for (const [p, t, expected] of TABLE) assert.equal(matchTopic(p, t), expected, `${p} ~ ${t}`);
});

test("broker - the trie gives the same answers as matchTopic, and prunes on remove", () => {
  const trie = new TopicTrie<string>();
  const patterns = [...new Set(TABLE.map(([p]) => p))];
  for (const p of patterns) trie.add(p, p);
  for (const topic of new Set(TABLE.map(([, t]) => t))) {
    const expected = patterns.filter((p) => matchTopic(p, topic)).sort();
    assert.deepEqual(trie.match(topic).sort(), expected, topic);
  }
  for (const p of patterns) assert.equal(trie.remove(p, p), true);
  assert.equal(trie.size, 0);
  assert.deepEqual(trie.match("a.b.c"), []);
  assert.equal(trie.remove("a.b", "nope"), false);
});

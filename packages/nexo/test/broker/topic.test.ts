import assert from "node:assert/strict";
import { test } from "node:test";
import { matchTopic, patternWithin, MAX_TOPIC_LENGTH, MAX_TOPIC_SEGMENTS, TopicTrie, validatePattern, validateTopic } from "../../src/broker/index.js";
import { ErrorCodes, isNexoError, type NexoError } from "../../src/errors.js";

const seg64 = Array.from({ length: MAX_TOPIC_SEGMENTS }, () => "a").join(".");

/** [input, valid as a topic, valid as a pattern, why] */
const VALIDITY: Array<[string, boolean, boolean, string]> = [
  ["a", true, true, "one segment"],
  ["a.b", true, true, "two segments"],
  ["plugin.inbound.echo", true, true, "a contract topic"],
  ["x-y_z.1.Ünïcode", true, true, "any non-space characters in a literal"],
  ["", false, false, "empty"],
  [".", false, false, "only a dot"],
  ["a.", false, false, "trailing dot"],
  [".a", false, false, "leading dot"],
  ["a..b", false, false, "empty middle segment"],
  ["a b", false, false, "space"],
  ["a.\tb", false, false, "tab"],
  ["a.b\n", false, false, "newline"],
  [">", false, true, "`>` alone"],
  ["*", false, true, "`*` alone"],
  ["*.b.c", false, true, "`*` first"],
  ["a.*.c", false, true, "`*` in the middle"],
  ["a.b.*", false, true, "`*` last"],
  ["*.*.*", false, true, "`*` everywhere"],
  ["a.>", false, true, "`>` last"],
  ["*.>", false, true, "`*` then `>`"],
  [">.a", false, false, "`>` first, not last"],
  ["a.>.b", false, false, "`>` in the middle"],
  ["a.>.>", false, false, "two `>`"],
  ["a*", false, false, "literal containing `*`"],
  ["a.b*c", false, false, "literal containing `*` in the middle"],
  ["a.>b", false, false, "literal containing `>`"],
  ["a.**", false, false, "`**` is not a wildcard"],
  ["a. *", false, false, "space before `*`"],
  [seg64, true, true, `${MAX_TOPIC_SEGMENTS} segments`],
  [`${seg64}.a`, false, false, `${MAX_TOPIC_SEGMENTS + 1} segments`],
  ["x".repeat(MAX_TOPIC_LENGTH), true, true, `${MAX_TOPIC_LENGTH} characters`],
  ["x".repeat(MAX_TOPIC_LENGTH + 1), false, false, `${MAX_TOPIC_LENGTH + 1} characters`],
];

test("broker - topic and pattern validation follow the table", () => {
  for (const [input, topicOk, patternOk, why] of VALIDITY) {
    const label = `${why}: ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + "…" : input)}`;
    if (topicOk) assert.doesNotThrow(() => validateTopic(input), `topic ok, ${label}`);
    else
      assert.throws(
        () => validateTopic(input),
        (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_TOPIC),
        `topic rejected, ${label}`,
      );
    if (patternOk) assert.doesNotThrow(() => validatePattern(input), `pattern ok, ${label}`);
    else
      assert.throws(
        () => validatePattern(input),
        (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_PATTERN),
        `pattern rejected, ${label}`,
      );
  }
});

test("broker - validation errors name the topic and the rule", () => {
  const err = (() => {
    try {
      validatePattern("a.>.b");
    } catch (e) {
      return e as NexoError;
    }
    throw new Error("accepted");
  })();
  assert.equal(err.details.topic, "a.>.b");
  assert.match(err.message, /a\.>\.b/);
  assert.match(String(err.details.rule), /last/);
  assert.throws(
    () => validateTopic(42 as unknown as string),
    (e) => isNexoError(e, ErrorCodes.BROKER_INVALID_TOPIC),
  );
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
  ["*.b.c", "a.x.c", false],
  ["a.*.c", "a.b.c", true],
  ["a.b.*", "a.b.c", true],
  ["a.b.*", "a.b", false],
  ["a.b.*", "a.b.c.d", false],
  ["a.*.c", "a.b.d", false],
  ["a.>", "a", false],
  ["a.>", "a.b", true],
  ["a.>", "a.b.c.d", true],
  ["a.>", "b.a", false],
  ["*.>", "a", false],
  ["*.>", "a.b", true],
  ["*.*", "a.b", true],
  ["*.*", "a.b.c", false],
  ["a.*.>", "a.b", false],
  ["a.*.>", "a.b.c", true],
  ["ab", "a", false],
  ["a", "ab", false],
  ["plugin.inbound.>", "plugin.inbound.echo", true],
  ["plugin.inbound.>", "plugin.inbound", false],
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
  assert.equal(trie.countNodes(), 1, "only the root is left");
  assert.deepEqual(trie.match("a.b.c"), []);
  assert.equal(trie.remove("a.b", "nope"), false);
});

test("broker - the trie agrees with matchTopic on random patterns, before and after removals", () => {
  // A seeded generator: failures reproduce.
  let seed = 12345;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  const lit = (): string => ["a", "b", "c"][rnd(3)];
  const pattern = (): string => {
    const len = 1 + rnd(4);
    const segs: string[] = [];
    for (let i = 0; i < len; i++) {
      const r = rnd(10);
      segs.push(i === len - 1 && r === 0 ? ">" : r < 3 ? "*" : lit());
    }
    return segs.join(".");
  };
  const topic = (): string => Array.from({ length: 1 + rnd(5) }, lit).join(".");
  const trie = new TopicTrie<number>();
  const entries = Array.from({ length: 600 }, (_, i) => [pattern(), i] as const);
  for (const [p, v] of entries) trie.add(p, v);
  const topics = Array.from({ length: 300 }, topic);
  const check = (live: ReadonlyArray<readonly [string, number]>): void => {
    for (const t of topics) {
      const expected = live
        .filter(([p]) => matchTopic(p, t))
        .map(([, v]) => v)
        .sort((x, y) => x - y);
      assert.deepEqual(
        trie.match(t).sort((x, y) => x - y),
        expected,
        t,
      );
    }
  };
  check(entries);
  const kept = entries.filter(([, v]) => v % 2 === 0);
  for (const [p, v] of entries) if (v % 2 === 1) assert.equal(trie.remove(p, v), true, p);
  assert.equal(trie.size, kept.length);
  check(kept);
  for (const [p, v] of kept) trie.remove(p, v);
  assert.equal(trie.countNodes(), 1);
});

test("broker - patternWithin: a pattern lies inside another only when every topic it matches is matched too", () => {
  const cases: Array<[string, string, boolean]> = [
    ["plugin.outbound.echo", "plugin.outbound.>", true],
    ["plugin.outbound.*", "plugin.outbound.>", true],
    ["plugin.outbound.>", "plugin.outbound.>", true],
    ["plugin.outbound.a.>", "plugin.outbound.*.>", true],
    ["plugin.>", "plugin.outbound.>", false],
    ["plugin.outbound", "plugin.outbound.>", false],
    ["a.*.c", "a.b.c", false],
    ["a.b.c", "a.*.c", true],
    ["a.>", "a.*", false],
    ["a.b", "a.*", true],
    ["a.b.c", "a.*", false],
  ];
  for (const [inner, outer, expected] of cases) assert.equal(patternWithin(inner, outer), expected, `${inner} within ${outer}`);
});

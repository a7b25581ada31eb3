import assert from "node:assert/strict";
import { test } from "node:test";
import { CachingPlugin } from "../../src/plugins/index.js";
import { cacheKey, canonicalJson } from "../../src/plugins/caching/index.js";
import { CacheKeys } from "../../src/plugins/caching/cache-key.js";
import { copyResult } from "../../src/plugins/caching/copy-result.js";
import { createHash } from "node:crypto";
import { testApp } from "../helpers/app.js";

function counting(app: ReturnType<typeof testApp>["app"], name = "square") {
  const calls = { n: 0 };
  app.register(name, (i: { x: number }) => {
    calls.n++;
    return { y: i.x * i.x, nested: { at: calls.n } };
  });
  return calls;
}

test("caching - reference API: new CachingPlugin(600) caches through app.use, not by replacing executeWorkflow", async (t) => {
  const { app } = testApp(t);
  const original = app.executeWorkflow;
  const calls = counting(app);
  const cachingPlugin = new CachingPlugin(600);
  app.addPlugin(cachingPlugin);
  await app.start();
  assert.equal(app.executeWorkflow, original, "executeWorkflow is not monkey-patched");
  assert.equal(cachingPlugin.ttl, 600);
  const a = await app.executeWorkflow("square", { x: 3 });
  const b = await app.executeWorkflow("square", { x: 3 });
  assert.deepEqual(a, { y: 9, nested: { at: 1 } });
  assert.deepEqual(b, a);
  assert.equal(calls.n, 1);
  // Through the HTTP surface too.
  const res = await app.http.inject({ method: "POST", url: "/workflows/square/execute", payload: { x: 3 } });
  assert.deepEqual(res.json(), a);
  assert.equal(calls.n, 1);
  assert.deepEqual(cachingPlugin.stats(), { hits: 2, misses: 1, evictions: 0, expired: 0, size: 1 });
  cachingPlugin.clearCache();
  await app.executeWorkflow("square", { x: 3 });
  assert.equal(calls.n, 2);
});

test("caching - key: SHA-256 of the name and canonical JSON (key order does not matter); hits are copies", async (t) => {
  assert.equal(canonicalJson({ b: [2, { d: 1, c: 2 }], a: "x", u: undefined }), '{"a":"x","b":[2,{"c":2,"d":1}]}');
  assert.equal(cacheKey("w", { a: 1 }), createHash("sha256").update('"w"\n\n{"a":1}').digest("hex"));
  assert.equal(cacheKey("w", { a: 1 }, "alice"), createHash("sha256").update('"w"\n"alice"\n{"a":1}').digest("hex"));
  assert.notEqual(cacheKey("w", { a: 1 }, "alice"), cacheKey("w", { a: 1 }, "bob"));
  assert.equal(cacheKey("w", { a: 1, b: { c: 1, d: 2 } }), cacheKey("w", { b: { d: 2, c: 1 }, a: 1 }));
  assert.notEqual(cacheKey("w", { a: 1 }), cacheKey("v", { a: 1 }));
  const { app } = testApp(t);
  const calls = counting(app);
  app.addPlugin(new CachingPlugin());
  await app.start();
  const first = (await app.executeWorkflow("square", { x: 2, pad: { q: 1, r: 2 } })) as { nested: { at: number } };
  first.nested.at = 999; // a caller mutating its result must not corrupt the cache
  const second = (await app.executeWorkflow("square", { pad: { r: 2, q: 1 }, x: 2 })) as { nested: { at: number } };
  assert.equal(calls.n, 1);
  assert.equal(second.nested.at, 1);
});

test("caching - keys compare inputs as JSON; CacheKeys remembers keys by JSON text and gives cacheKey's result", () => {
  // What JSON drops does not count; what it cannot carry throws (the plugin then skips the cache).
  assert.equal(cacheKey("w", { a: 1, f: () => 1, u: undefined }), cacheKey("w", { a: 1 }));
  assert.equal(cacheKey("w", { d: new Date(0) }), cacheKey("w", { d: "1970-01-01T00:00:00.000Z" }));
  assert.throws(() => cacheKey("w", { n: 1n }), TypeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => cacheKey("w", cyclic), TypeError);

  const keys = new CacheKeys(3, 40);
  const cases: Array<[string, unknown, string | undefined]> = [
    ["w", { b: 1, a: [1, { y: 2, x: 1 }] }, undefined],
    ["w", { b: 1, a: [1, { y: 2, x: 1 }] }, "alice"], // same text, other principal
    ["v", { b: 1, a: [1, { y: 2, x: 1 }] }, "alice"], // same text, other workflow
    ["w", { a: [1, { x: 1, y: 2 }], b: 1 }, undefined], // other text, same canonical JSON
    ["w", { long: "x".repeat(100) }, undefined], // longer than maxTextLength: never remembered
  ];
  for (let round = 0; round < 3; round++) {
    for (const [w, inputs, p] of cases) assert.equal(keys.keyOf(w, inputs, p), cacheKey(w, inputs, p), `${w} ${JSON.stringify(inputs)} ${p}`);
  }
  assert.equal(keys.keyOf("w", { b: 1, a: [1, { y: 2, x: 1 }] }), keys.keyOf("w", { a: [1, { x: 1, y: 2 }], b: 1 }));
  assert.ok(keys.size <= 3, "bounded by maxEntries");
});

test("caching - TTL expiry, LRU eviction at maxEntries, failures never cached", async (t) => {
  let now = 0;
  const { app } = testApp(t);
  const calls = counting(app);
  let fail = true;
  app.register("flaky", () => {
    if (fail) throw new Error("first call fails");
    return "ok";
  });
  const caching = new CachingPlugin({ ttl: 10, maxEntries: 2, now: () => now });
  app.addPlugin(caching);
  await app.start();
  await app.executeWorkflow("square", { x: 1 });
  now = 9_999;
  await app.executeWorkflow("square", { x: 1 });
  assert.equal(calls.n, 1, "fresh within the TTL");
  now = 10_000;
  await app.executeWorkflow("square", { x: 1 });
  assert.equal(calls.n, 2, "expired at the TTL");
  assert.equal(caching.stats().expired, 1);
  await app.executeWorkflow("square", { x: 2 });
  await app.executeWorkflow("square", { x: 1 }); // x=1 is now most recently used
  await app.executeWorkflow("square", { x: 3 }); // evicts x=2
  assert.equal(caching.stats().evictions, 1);
  const before = calls.n;
  await app.executeWorkflow("square", { x: 1 });
  assert.equal(calls.n, before, "x=1 survived");
  await app.executeWorkflow("square", { x: 2 });
  assert.equal(calls.n, before + 1, "x=2 was evicted");
  await assert.rejects(app.executeWorkflow("flaky", {}));
  fail = false;
  assert.equal(await app.executeWorkflow("flaky", {}), "ok", "the failure was not cached");
});

test("caching - LRU order holds when the most recently used entry is hit again and again; hits are logged at debug level", async (t) => {
  const { app, logs } = testApp(t);
  const calls = counting(app);
  const caching = new CachingPlugin({ ttl: 60, maxEntries: 2 });
  app.addPlugin(caching);
  await app.start();
  const run = (x: number) => app.executeWorkflow("square", { x });
  await run(1);
  await run(2);
  for (let i = 0; i < 3; i++) await run(2); // already the most recently used: stays last
  for (let i = 0; i < 3; i++) await run(1); // moves last once, then stays
  await run(3); // evicts 2, the least recently used
  assert.equal(caching.stats().evictions, 1);
  const before = calls.n;
  await run(1);
  assert.equal(calls.n, before, "1 survived");
  await run(2);
  assert.equal(calls.n, before + 1, "2 was evicted");
  assert.equal(caching.stats().hits, 7);
  assert.equal(logs().filter((l) => l.msg === "Cache hit for square").length, 7);
});

test("caching - per-workflow opt-in and opt-out; results vary by principal", async (t) => {
  const { app } = testApp(t);
  const sq = counting(app, "square");
  const cube = counting(app, "cube");
  app.register("whoami", (_i, ctx) => ctx.principal?.id ?? null);
  app.addPlugin(new CachingPlugin({ include: ["square", "whoami"], exclude: ["whoami"] }));
  await app.start();
  await app.executeWorkflow("square", { x: 1 });
  await app.executeWorkflow("square", { x: 1 });
  await app.executeWorkflow("cube", { x: 1 });
  await app.executeWorkflow("cube", { x: 1 });
  assert.equal(sq.n, 1);
  assert.equal(cube.n, 2, "not in include");

  const { app: app2 } = testApp(t);
  app2.register("whoami", (_i, ctx) => ctx.principal?.id ?? null);
  app2.addPlugin(new CachingPlugin());
  await app2.start();
  assert.equal(await app2.executeWorkflow("whoami", {}, { principal: { id: "ada" } }), "ada");
  assert.equal(await app2.executeWorkflow("whoami", {}, { principal: { id: "bob" } }), "bob", "one user never gets another's cached result");
});

test("caching - copyResult: plain data copied deeply, other values through structuredClone, functions refused", () => {
  const plain = { a: [1, { b: "x" }], n: null, u: undefined, nested: { deep: { deeper: [true] } } };
  const copy = copyResult(plain);
  assert.deepEqual(copy, plain);
  assert.notEqual(copy.a, plain.a);
  assert.notEqual(copy.nested.deep, plain.nested.deep);
  assert.ok("u" in copy, "undefined-valued keys are kept, as structuredClone keeps them");
  // JSON.parse makes an own "__proto__" key: it must stay data, not become the copy's prototype.
  const tricky = JSON.parse('{"__proto__": {"polluted": true}, "k": 1}') as Record<string, unknown>;
  const tc = copyResult(tricky);
  assert.equal(Object.getPrototypeOf(tc), Object.prototype);
  assert.deepEqual(Object.keys(tc), ["__proto__", "k"]);
  assert.equal((tc as { polluted?: boolean }).polluted, undefined);
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { x: 1 });
  assert.equal(Object.getPrototypeOf(copyResult(bare)), null);
  // Not plain: Dates and Maps keep their type, cycles survive, deep nesting is still copied.
  const when = new Date(0);
  const withDate = copyResult({ when, m: new Map([["k", 1]]) });
  assert.ok(withDate.when instanceof Date && withDate.when !== when && withDate.when.getTime() === 0);
  assert.equal(withDate.m.get("k"), 1);
  const cyclic: Record<string, unknown> = { name: "c" };
  cyclic.self = cyclic;
  const cc = copyResult(cyclic);
  assert.equal(cc.self, cc);
  assert.notEqual(cc, cyclic);
  let deep: unknown = 0;
  for (let i = 0; i < 200; i++) deep = [deep];
  assert.deepEqual(copyResult(deep), deep);
  assert.throws(
    () => copyResult({ f: () => 1 }),
    (err: Error) => err.name === "DataCloneError",
  );
});

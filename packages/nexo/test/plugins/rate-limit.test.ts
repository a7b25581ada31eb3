import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { SignJWT } from "jose";
import { AuthPlugin, hashApiKey, RateLimitPlugin } from "../../src/plugins/index.js";
import { TokenBuckets } from "../../src/plugins/rate-limit/index.js";
import { testApp } from "../helpers/app.js";

/** A clock the test moves by hand, so refills are exact. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test("rate limit - reference API: limit and burst set as properties; headers carry the IETF fields", async (t) => {
  const { app } = testApp(t);
  app.register("echo", (i) => i);
  const rateLimitPlugin = new RateLimitPlugin();
  rateLimitPlugin.limit = 1000; // per minute
  rateLimitPlugin.burst = 100;
  await app.addPlugin(rateLimitPlugin);
  await app.start();
  const res = await app.http.inject({ method: "POST", url: "/workflows/echo/execute", payload: { a: 1 } });
  assert.equal(res.statusCode, 200);
  // q = burst over w = seconds to refill from empty (100 / (1000/60) = 6 s): q/w is the sustained rate.
  assert.equal(res.headers["ratelimit-policy"], '"default";q=100;w=6');
  assert.equal(res.headers["ratelimit"], '"default";r=99;t=1');
  assert.throws(
    () => (rateLimitPlugin.limit = 5),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID),
  );
});

test("rate limit - 64 concurrent clients over real HTTP, keyed by principal although auth was added after: exact counts, exact refill", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t, { http: true });
  app.register("echo", (i) => i);
  const secret = "rate-limit-test-secret-0123456789abcdef";
  // Bearer tokens, no API key: without the principal every client would be the same IP.
  const keys = await Promise.all(
    Array.from({ length: 64 }, (_, i) =>
      new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(`client-${i}`).setExpirationTime("1h").sign(new TextEncoder().encode(secret)),
    ),
  );
  // Added first on purpose: the hook order, not the add order, puts authentication first.
  const limiter = new RateLimitPlugin({ limit: 60, burst: 10, now: clock.now });
  await app.addPlugin(limiter);
  await app.addPlugin(new AuthPlugin({ strategy: "jwt", secret }));
  await app.start();
  const fire = async (perClient: number) => {
    const results = await Promise.all(
      keys.flatMap((key) =>
        Array.from({ length: perClient }, async () => {
          const res = await fetch(`${app.url}/workflows/echo/execute`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
            body: '{"x":1}',
          });
          await res.arrayBuffer();
          return { key, status: res.status, retryAfter: res.headers.get("retry-after") };
        }),
      ),
    );
    const byClient = new Map<string, { ok: number; limited: number }>();
    for (const r of results) {
      const c = byClient.get(r.key) ?? { ok: 0, limited: 0 };
      if (r.status === 200) c.ok++;
      else if (r.status === 429) {
        c.limited++;
        assert.equal(r.retryAfter, "1");
      } else assert.fail(`unexpected status ${r.status}`);
      byClient.set(r.key, c);
    }
    return byClient;
  };
  // Every client comes from 127.0.0.1: only keying by principal gives each its own bucket.
  const first = await fire(15);
  assert.equal(first.size, 64);
  for (const c of first.values()) assert.deepEqual(c, { ok: 10, limited: 5 });
  // 60/min refills one token per second: 3 s later each client has exactly 3.
  clock.advance(3000);
  const second = await fire(5);
  for (const c of second.values()) assert.deepEqual(c, { ok: 3, limited: 2 });
  assert.deepEqual(limiter.stats(), { allowed: 64 * 13, limited: 64 * 7, buckets: 64, evictions: 0, overflowed: 0, backend: "memory", fallbacks: 0 });
});

test("rate limit - one client, 64 concurrent requests: exactly burst accepted; 429 with Retry-After, RateLimit r=0 and the stable body", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t, { http: true });
  app.register("echo", (i) => i);
  await app.addPlugin(new RateLimitPlugin({ limit: 30, burst: 8, now: clock.now }));
  await app.start();
  const responses = await Promise.all(
    Array.from({ length: 64 }, async () => {
      const res = await fetch(`${app.url}/workflows/echo/execute`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      return { status: res.status, headers: res.headers, body: (await res.json()) as { error: { code: string; retryAfterMs: number } } };
    }),
  );
  assert.equal(responses.filter((r) => r.status === 200).length, 8);
  const limited = responses.filter((r) => r.status === 429);
  assert.equal(limited.length, 56);
  const one = limited[0];
  // 30/min: a token every 2 s.
  assert.equal(one.headers.get("retry-after"), "2");
  assert.equal(one.headers.get("ratelimit"), '"default";r=0;t=2');
  assert.equal(one.headers.get("ratelimit-policy"), '"default";q=8;w=16');
  assert.equal(one.body.error.code, ErrorCodes.RATE_LIMITED);
  assert.equal(one.body.error.retryAfterMs, 2000);
  clock.advance(1999);
  assert.equal((await fetch(`${app.url}/workflows/echo/execute`, { method: "POST" })).status, 429, "no token before 2 s");
  clock.advance(1);
  assert.equal((await fetch(`${app.url}/workflows/echo/execute`, { method: "POST" })).status, 200);
});

test("rate limit - per-route limits (first match wins) and exempt routes; /health is exempt by default", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t);
  app.register("report", () => "r");
  app.register("echo", (i) => i);
  await app.addPlugin(
    new RateLimitPlugin({
      limit: 600,
      burst: 5,
      now: clock.now,
      exempt: ["/health", "/workflows"],
      routes: [{ path: "/workflows/report/execute", method: "POST", limit: 6, burst: 1, name: "reports" }],
    }),
  );
  await app.start();
  const post = (name: string) => app.http.inject({ method: "POST", url: `/workflows/${name}/execute`, payload: {} });
  const r1 = await post("report");
  assert.equal(r1.statusCode, 200);
  assert.equal(r1.headers["ratelimit-policy"], '"reports";q=1;w=10');
  assert.equal((await post("report")).statusCode, 429);
  for (let i = 0; i < 5; i++) assert.equal((await post("echo")).statusCode, 200, "the default policy is a separate bucket");
  assert.equal((await post("echo")).statusCode, 429);
  for (let i = 0; i < 20; i++) {
    assert.equal((await app.http.inject({ method: "GET", url: "/health" })).statusCode, 200);
    const list = await app.http.inject({ method: "GET", url: "/workflows?x=1" });
    assert.equal(list.statusCode, 200);
    assert.equal(list.headers["ratelimit"], undefined);
  }
});

test("rate limit - API keys (shared principals) each have their own bucket per policy, counted exactly within one millisecond", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t);
  app.register("report", () => "r");
  app.register("echo", (i) => i);
  const keys = { ci: "rate-limit-key-ci-0123456789abcdef", ops: "rate-limit-key-ops-0123456789abcdef" };
  await app.addPlugin(new AuthPlugin({ strategy: "api_key", apiKeys: Object.entries(keys).map(([id, key]) => ({ id, hash: hashApiKey(key) })) }));
  await app.addPlugin(new RateLimitPlugin({ limit: 60, burst: 3, now: clock.now, routes: [{ path: "/workflows/report/execute", limit: 60, burst: 2, name: "reports" }] }));
  await app.start();
  const post = async (key: string, name: string) =>
    (await app.http.inject({ method: "POST", url: `/workflows/${name}/execute`, headers: { "x-api-key": key }, payload: {} })).statusCode;
  // Interleaved, all at the same instant: each key and policy keeps its own count.
  const statuses: Record<string, number[]> = {};
  for (let i = 0; i < 4; i++) {
    for (const [id, key] of Object.entries(keys)) {
      for (const name of ["echo", "report"]) (statuses[`${id} ${name}`] ??= []).push(await post(key, name));
    }
  }
  assert.deepEqual(statuses, {
    "ci echo": [200, 200, 200, 429],
    "ci report": [200, 200, 429, 429],
    "ops echo": [200, 200, 200, 429],
    "ops report": [200, 200, 429, 429],
  });
  clock.advance(1000);
  assert.equal(await post(keys.ci, "report"), 200, "one token refilled a second later");
  assert.equal(await post(keys.ci, "report"), 429);
});

test("rate limit - without a verified principal a client is its IP: an unverified API key is ignored", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t);
  app.register("echo", (i) => i);
  await app.addPlugin(new RateLimitPlugin({ limit: 60, burst: 1, now: clock.now }));
  await app.start();
  const post = (headers: Record<string, string>, ip = "10.0.0.1") => app.http.inject({ method: "POST", url: "/workflows/echo/execute", payload: {}, headers, remoteAddress: ip });
  assert.equal((await post({ "x-api-key": "key-a" })).statusCode, 200);
  assert.equal((await post({ "x-api-key": "key-b" })).statusCode, 429, "another made-up key from the same IP is the same client");
  assert.equal((await post({ authorization: "ApiKey key-c" })).statusCode, 429);
  assert.equal((await post({ "x-api-key": "key-a" }, "10.0.0.2")).statusCode, 200, "the same key from another IP is another client");
  assert.equal((await post({}, "10.0.0.3")).statusCode, 200);
});

test("rate limit - a made-up x-api-key per request is limited like one client: burst 5 of 200", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t, { http: true });
  app.register("echo", (i) => i);
  const limiter = new RateLimitPlugin({ limit: 60, burst: 5, now: clock.now });
  await app.addPlugin(limiter);
  await app.start();
  const statuses = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const res = await fetch(`${app.url}/workflows/echo/execute`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": `made-up-${i}` }, body: "{}" });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  assert.equal(statuses.filter((s) => s === 200).length, 5);
  assert.equal(statuses.filter((s) => s === 429).length, 195);
  assert.equal(limiter.stats().buckets, 1);
});

test("rate limit - a flood of new clients never resets a limited client's bucket: full buckets are evicted, never used ones", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t);
  app.register("echo", (i) => i);
  const limiter = new RateLimitPlugin({ limit: 60, burst: 5, maxBuckets: 1000, now: clock.now });
  await app.addPlugin(limiter);
  await app.start();
  const post = (ip: string, headers: Record<string, string> = {}) => app.http.inject({ method: "POST", url: "/workflows/echo/execute", payload: {}, headers, remoteAddress: ip });
  for (let i = 0; i < 5; i++) assert.equal((await post("10.9.9.9")).statusCode, 200);
  assert.equal((await post("10.9.9.9")).statusCode, 429, "the victim used its burst");
  // 1,100 made-up keys from one address: one client, one bucket.
  for (let i = 0; i < 1100; i++) await post("10.8.0.1", { "x-api-key": `made-up-${i}` });
  assert.equal((await post("10.9.9.9")).statusCode, 429, "made-up keys did not evict the victim");
  // 1,100 distinct addresses against a table of 1,000: 998 get a bucket, the rest share one overflow bucket.
  let allowed = 0;
  for (let i = 0; i < 1100; i++) if ((await post(`10.${1 + (i >> 8)}.${i & 255}.1`)).statusCode === 200) allowed++;
  assert.equal((await post("10.9.9.9")).statusCode, 429, "1,100 new clients did not reset the victim's bucket");
  assert.equal(allowed, 998 + 5, "beyond the table, new clients share one bucket of burst 5");
  assert.equal(limiter.stats().buckets, 1000);
  assert.equal(limiter.stats().evictions, 0);
  assert.equal(limiter.stats().overflowed, 1100 - 998);
  // Once buckets refill to full they equal fresh ones: a newcomer takes the place of an idle one.
  clock.advance(5000);
  assert.equal((await post("10.200.0.1")).statusCode, 200);
  assert.equal(limiter.stats().evictions, 1);
  assert.equal(limiter.stats().overflowed, 1100 - 998, "a full bucket was evicted instead of overflowing");
});

test("rate limit - memory is bounded: at most maxBuckets, full buckets swept", async (t) => {
  const clock = manualClock();
  const { app } = testApp(t);
  app.register("echo", (i) => i);
  const limiter = new RateLimitPlugin({ limit: 60, burst: 2, maxBuckets: 5, now: clock.now });
  await app.addPlugin(limiter);
  await app.start();
  for (let i = 0; i < 12; i++) {
    await app.http.inject({ method: "POST", url: "/workflows/echo/execute", payload: {}, remoteAddress: `10.1.0.${i}` });
  }
  assert.equal(limiter.stats().buckets, 5);
  assert.equal(limiter.stats().evictions, 0, "no bucket was full: none evicted");
  assert.equal(limiter.stats().overflowed, 7);
  clock.advance(999);
  assert.equal(limiter.sweepIdle(), 0, "not yet refilled to full (1 token a second)");
  clock.advance(1);
  assert.equal(limiter.sweepIdle(), 5);
  assert.equal(limiter.stats().buckets, 0);
});

test("rate limit - token buckets: a full bucket is evicted for a newcomer, a partly used one never; refill caps at burst", () => {
  const b = new TokenBuckets(2);
  assert.equal(b.take("a", 0, 60, 3).remaining, 2);
  b.take("b", 0, 60, 3);
  const c = b.take("c", 0, 60, 3, "default");
  assert.equal(c.overflow, true, "a and b are in use: c shares the overflow bucket");
  assert.equal(b.take("d", 0, 60, 3, "default").remaining, 1, "the overflow bucket is shared");
  assert.equal(b.take("a", 0, 60, 3).remaining, 1, "a kept its bucket");
  assert.equal(b.take("a", 1000, 60, 3).remaining, 1, "a refilled one token and spent it");
  // At 1 s b is full again (2 + 1): it is evicted for c, not a.
  assert.equal(b.take("c", 1000, 60, 3).overflow, false);
  assert.equal(b.evictions, 1);
  assert.equal(b.take("a", 3_600_000, 60, 3).remaining, 2, "an hour later a is full again, not 3600 tokens");
});

test("rate limit - options are checked: the option, value and type are named", () => {
  for (const [options, field] of [
    [{ limit: 0 }, "limit"],
    [{ burst: 1.5 }, "burst"],
    [{ exempt: ["health"] }, "exempt[0]"],
    [{ routes: [{ path: "/x", limit: 1 }] }, "routes[0].burst"],
    [{ maxBuckets: "10" }, "maxBuckets"],
    [{ nope: 1 }, "nope"],
  ] as const) {
    assert.throws(
      () => new RateLimitPlugin(options as never),
      (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID) && e.details.field === field && e.details.pluginId === "rate_limit",
      JSON.stringify(options),
    );
  }
  assert.throws(
    () => new RateLimitPlugin({ maxBuckets: "10" as never }),
    /rate_limit option maxBuckets \(max_buckets in nexo.yaml\) must be an integer from 1 to 100000000, got "10" \(string\)/,
  );
});

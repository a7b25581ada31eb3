import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { ApiKeyVerifier, hashApiKey } from "../../src/plugins/auth/index.js";

test("api keys - sha256 and sha512 hashes side by side; an unknown or empty key has no principal", () => {
  const v = new ApiKeyVerifier([
    { id: "ci", hash: hashApiKey("ci-key-0123456789abcdef") },
    { id: "ops", hash: `sha512:${createHash("sha512").update("ops-key-0123456789abcdef").digest("hex")}`, claims: { team: "infra" } },
  ]);
  assert.equal(v.verify("ci-key-0123456789abcdef")?.id, "ci");
  assert.deepEqual(v.verify("ops-key-0123456789abcdef"), { id: "ops", strategy: "api_key", claims: { team: "infra" } });
  assert.equal(v.verify("ci-key-0123456789abcdeF"), undefined);
  assert.equal(v.verify(""), undefined);
});

test("api keys - one frozen principal per key, shared by every request; two entries with one hash: the first listed wins", () => {
  const v = new ApiKeyVerifier([
    { id: "first", hash: hashApiKey("same-key-0123456789abcdef"), claims: { n: 1 } },
    { id: "second", hash: hashApiKey("same-key-0123456789abcdef") },
  ]);
  const a = v.verify("same-key-0123456789abcdef");
  assert.equal(a?.id, "first");
  assert.equal(v.verify("same-key-0123456789abcdef"), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a!.claims));
});

test("api keys - verified keys are remembered within a bound: 3000 keys verified twice each keep their own principal; a near miss of a remembered key is refused", () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `key-${i}-0123456789abcdef`);
  const v = new ApiKeyVerifier(keys.map((k, i) => ({ id: `k${i}`, hash: hashApiKey(k) })));
  for (let round = 0; round < 2; round++) for (let i = 0; i < keys.length; i++) assert.equal(v.verify(keys[i]!)?.id, `k${i}`);
  assert.equal(v.verify("key-2999-0123456789abcdeF"), undefined);
  assert.equal(v.verify(keys[2999]!)?.id, "k2999");
});

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

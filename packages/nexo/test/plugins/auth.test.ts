import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { test, type TestContext } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { AuthPlugin, hashApiKey, OIDC_PROVIDERS } from "../../src/plugins/index.js";
import type { Nexo } from "../../src/app/index.js";
import { testApp } from "../helpers/app.js";
import { loopbackServer, sendJson } from "../helpers/http-server.js";

const NOW = Date.parse("2030-01-01T00:00:00Z");
const nowS = Math.floor(NOW / 1000);
const AUDIENCE = "nexo-test-client";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(kid: string, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** A fake OpenID provider on loopback: discovery document and a JWKS the test can rotate. */
async function fakeIssuer(t: TestContext, keys: SigningKey[]) {
  const state = { keys, jwksFetches: 0, discoveryFetches: 0, down: false };
  const server = await loopbackServer(t, (req, res) => {
    if (state.down) return sendJson(res, 503, { error: "down" });
    if (req.url === "/.well-known/openid-configuration") {
      state.discoveryFetches++;
      return sendJson(res, 200, { issuer: server.url, jwks_uri: `${server.url}/jwks`, id_token_signing_alg_values_supported: ["RS256"] });
    }
    if (req.url === "/jwks") {
      state.jwksFetches++;
      return sendJson(res, 200, { keys: state.keys.map((k) => k.jwk) });
    }
    sendJson(res, 404, {});
  });
  return Object.assign(state, { url: server.url });
}

function sign(
  key: SigningKey,
  issuer: string,
  claims: Record<string, unknown> = {},
  opts: { exp?: number; nbf?: number; iat?: number; aud?: string; iss?: string; alg?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ email: "ada@example.com", ...claims })
    .setProtectedHeader({ alg: opts.alg ?? "RS256", kid: key.kid })
    .setIssuer(opts.iss ?? issuer)
    .setAudience(opts.aud ?? AUDIENCE)
    .setSubject("user-1")
    .setIssuedAt(opts.iat ?? nowS - 60)
    .setExpirationTime(opts.exp ?? nowS + 600);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key.privateKey);
}

/** An app with a `whoami` workflow returning ctx.principal, and the given auth plugin. */
async function appWithAuth(t: TestContext, auth: AuthPlugin): Promise<Nexo> {
  const { app } = testApp(t);
  app.register("whoami", (_inputs, ctx) => ({ principal: ctx.principal ?? null }));
  await app.addPlugin(auth);
  await app.start();
  return app;
}

function call(app: Nexo, token?: string, extra: Record<string, string> = {}) {
  return app.http.inject({
    method: "POST",
    url: "/workflows/whoami/execute",
    payload: {},
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...extra },
  });
}

function base64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString("base64url");
}

test("auth - oauth2 by issuer URL: discovery + JWKS on a loopback issuer; the principal reaches the workflow's ctx", async (t) => {
  const k1 = await newKey("k1");
  const idp = await fakeIssuer(t, [k1]);
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "oauth2", issuer: idp.url, audience: AUDIENCE, now: () => NOW }));
  const res = await call(app, await sign(k1, idp.url, { role: "admin" }));
  assert.equal(res.statusCode, 200, res.body);
  const { principal } = res.json();
  assert.equal(principal.id, "user-1");
  assert.equal(principal.strategy, "oauth2");
  assert.equal(principal.claims.role, "admin");
  assert.equal(principal.claims.iss, idp.url);
  assert.equal(idp.discoveryFetches, 1);
  // Keys are cached: a second token costs no fetch.
  assert.equal((await call(app, await sign(k1, idp.url))).statusCode, 200);
  assert.equal(idp.jwksFetches, 1);
  assert.equal(idp.discoveryFetches, 1);
});

test("auth - oauth2 key rotation: a new kid is accepted after a refetch, a removed kid is refused", async (t) => {
  const k1 = await newKey("k1");
  const k2 = await newKey("k2");
  const idp = await fakeIssuer(t, [k1]);
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "oauth2", issuer: idp.url, audience: AUDIENCE, jwksCooldownMs: 0, now: () => NOW }));
  assert.equal((await call(app, await sign(k1, idp.url))).statusCode, 200);
  assert.equal(idp.jwksFetches, 1);
  // The provider rotates: k2 published, k1 withdrawn.
  idp.keys = [k2];
  const withK2 = await call(app, await sign(k2, idp.url));
  assert.equal(withK2.statusCode, 200, withK2.body);
  assert.equal(idp.jwksFetches, 2, "the unknown kid k2 made the verifier refetch the JWKS");
  const withK1 = await call(app, await sign(k1, idp.url));
  assert.equal(withK1.statusCode, 401);
  assert.equal(withK1.json().error.code, ErrorCodes.AUTH_UNAUTHENTICATED);
  assert.match(String(withK1.headers["www-authenticate"]), /error="invalid_token"/);
  assert.match(String(withK1.headers["www-authenticate"]), /unknown kid/);
});

test("auth - every bad token is refused with 401, RFC 6750 invalid_token and the stable body", async (t) => {
  const k1 = await newKey("k1");
  const stranger = await newKey("k1"); // same kid, different key: a forged signature
  const idp = await fakeIssuer(t, [k1]);
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "oauth2", issuer: idp.url, audience: AUDIENCE, jwksCooldownMs: 0, now: () => NOW }));
  const good = await sign(k1, idp.url);
  const [h, p] = good.split(".");
  const cases: Array<[string, string, RegExp]> = [
    ["alg none", `${base64url({ alg: "none", typ: "JWT" })}.${p}.`, /algorithm is not allowed/],
    ["expired beyond the 30 s tolerance", await sign(k1, idp.url, {}, { exp: nowS - 31 }), /expired/],
    ["not yet valid", await sign(k1, idp.url, {}, { nbf: nowS + 120 }), /not valid yet/],
    ["issued an hour in the future", await sign(k1, idp.url, {}, { iat: nowS + 3600, exp: nowS + 7200 }), /issue time is in the future/],
    ["issued beyond the 30 s tolerance", await sign(k1, idp.url, {}, { iat: nowS + 31 }), /issue time is in the future/],
    ["wrong issuer", await sign(k1, idp.url, {}, { iss: "https://evil.example" }), /unexpected issuer/],
    ["wrong audience", await sign(k1, idp.url, {}, { aud: "someone-else" }), /another audience/],
    ["unknown kid", await sign(await newKey("k9"), idp.url), /unknown kid/],
    ["bad signature", await sign(stranger, idp.url), /signature is not valid/],
    ["tampered payload", `${h}.${base64url({ sub: "admin", iss: idp.url, aud: AUDIENCE, exp: nowS + 600 })}.${good.split(".")[2]}`, /signature is not valid/],
    ["HS256 with the public key as secret (algorithm confusion)", `${base64url({ alg: "HS256", kid: "k1" })}.${p}.${"A".repeat(43)}`, /algorithm is not allowed/],
    ["garbage", "not.a.jwt", /malformed/],
  ];
  for (const [name, token, why] of cases) {
    const res = await call(app, token);
    assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
    assert.equal(res.json().error.code, ErrorCodes.AUTH_UNAUTHENTICATED, name);
    const challenge = String(res.headers["www-authenticate"]);
    assert.match(challenge, /^Bearer realm="nexo", error="invalid_token", error_description="/, name);
    assert.match(challenge, why, `${name}: ${challenge}`);
  }
  // Within the clock tolerance an expired-by-10s token, or one issued 10 s ahead, still passes.
  assert.equal((await call(app, await sign(k1, idp.url, {}, { exp: nowS - 10 }))).statusCode, 200);
  assert.equal((await call(app, await sign(k1, idp.url, {}, { iat: nowS + 10 }))).statusCode, 200);
});

test("auth - no credentials: 401 with a bare Bearer challenge; a malformed header: 400 invalid_request; /health is exempt", async (t) => {
  const k1 = await newKey("k1");
  const idp = await fakeIssuer(t, [k1]);
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "oauth2", issuer: idp.url, audience: AUDIENCE, now: () => NOW }));
  const none = await call(app);
  assert.equal(none.statusCode, 401);
  assert.equal(none.headers["www-authenticate"], 'Bearer realm="nexo"');
  assert.deepEqual(none.json(), { error: { code: ErrorCodes.AUTH_UNAUTHENTICATED, message: "authentication required" } });
  const basic = await call(app, undefined, { authorization: "Basic dXNlcjpwYXNz" });
  assert.equal(basic.statusCode, 401, "another scheme counts as no bearer credentials");
  const empty = await call(app, undefined, { authorization: "Bearer " });
  assert.equal(empty.statusCode, 400);
  assert.equal(empty.json().error.code, ErrorCodes.AUTH_INVALID_REQUEST);
  assert.match(String(empty.headers["www-authenticate"]), /error="invalid_request"/);
  const health = await app.http.inject({ method: "GET", url: "/health" });
  assert.equal(health.statusCode, 200);
  const list = await app.http.inject({ method: "GET", url: "/workflows" });
  assert.equal(list.statusCode, 401, "everything but the exempt routes needs a token");
  assert.equal(idp.discoveryFetches, 0, "no token, no discovery");
});

test("auth - an unreachable issuer answers 503 NEXO_ERR_AUTH_UNAVAILABLE and is not hammered; it recovers after discoveryRetryMs", async (t) => {
  const k1 = await newKey("k1");
  const idp = await fakeIssuer(t, [k1]);
  let now = NOW;
  idp.down = true;
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "oauth2", issuer: idp.url, audience: AUDIENCE, discoveryRetryMs: 10_000, now: () => now }));
  const token = await sign(k1, idp.url);
  const first = await call(app, token);
  assert.equal(first.statusCode, 503);
  assert.equal(first.json().error.code, ErrorCodes.AUTH_UNAVAILABLE);
  const second = await call(app, token);
  assert.equal(second.statusCode, 503);
  assert.equal(idp.discoveryFetches, 0, "a 503 from the provider counts as a failed discovery");
  idp.down = false;
  assert.equal((await call(app, token)).statusCode, 503, "within the retry delay requests fail fast");
  assert.equal(idp.discoveryFetches, 0);
  now += 10_000;
  assert.equal((await call(app, token)).statusCode, 200);
  assert.equal(idp.discoveryFetches, 1);
});

test("auth - discovery refuses a document naming another issuer", async (t) => {
  const k1 = await newKey("k1");
  const server = await loopbackServer(t, (req, res) => sendJson(res, 200, { issuer: "https://impostor.example", jwks_uri: "https://impostor.example/jwks" }));
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "oauth2", issuer: server.url, audience: AUDIENCE, now: () => NOW }));
  const res = await call(app, await sign(k1, server.url));
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.code, ErrorCodes.AUTH_UNAVAILABLE);
});

test("auth - reference API: strategy oauth2 with provider google by properties; the preset's issuer and JWKS, no request to Google", async (t) => {
  const { app } = testApp(t);
  const auth = new AuthPlugin();
  auth.strategy = "oauth2";
  auth.provider = "google";
  // Not in the reference API: Google issues tokens for every OAuth client, so nexo insists on yours.
  auth.audience = "1234-abc.apps.googleusercontent.com";
  await app.addPlugin(auth);
  await app.start();
  assert.deepEqual(auth.resolvedOidc(), {
    issuers: ["https://accounts.google.com", "accounts.google.com"],
    jwksUri: "https://www.googleapis.com/oauth2/v3/certs",
    algorithms: ["RS256"],
  });
  assert.deepEqual(OIDC_PROVIDERS.google.issuers, ["https://accounts.google.com", "accounts.google.com"]);
  const res = await app.http.inject({ method: "GET", url: "/workflows" });
  assert.equal(res.statusCode, 401);
  assert.throws(
    () => (auth.provider = "google"),
    (e) => isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID),
    "options freeze once set up",
  );
});

test("auth - configuration errors name the option: oauth2 without audience, unknown provider, HS with a public key, short secret", async (t) => {
  const bad = async (plugin: () => AuthPlugin, field: string) => {
    const { app } = testApp(t);
    await assert.rejects(
      async () => app.addPlugin(plugin()),
      (e: unknown) => {
        const err = isNexoError(e, ErrorCodes.PLUGIN_SETUP_FAILED) ? (e.cause as unknown) : e;
        assert.ok(isNexoError(err), String(e));
        assert.ok([ErrorCodes.PLUGIN_CONFIG_INVALID, ErrorCodes.AUTH_CONFIG].includes(err.code as never), err.code);
        assert.equal(err.details.field?.replace(/\[\d+\]$/, ""), field);
        return true;
      },
    );
  };
  await bad(() => new AuthPlugin({ strategy: "oauth2", provider: "google" }), "audience");
  await bad(() => new AuthPlugin({ strategy: "oauth2", provider: "okta" as never }), "provider");
  await bad(() => new AuthPlugin({ strategy: "jwt", secret: "short" }), "secret");
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await bad(() => new AuthPlugin({ strategy: "jwt", publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(), algorithms: ["HS256"] }), "algorithms");
  await bad(() => new AuthPlugin({ strategy: "oauth2", issuer: "http://idp.example.com", audience: "x" }), "issuer");
  await bad(() => new AuthPlugin({ strategy: "api_key" }), "apiKeys");
  await bad(() => new AuthPlugin({ strategy: "jwt", algorithms: ["none"] }), "algorithms");
  await bad(() => new AuthPlugin({}), "strategy");
  // The message never echoes a secret's value.
  try {
    new AuthPlugin({ strategy: "jwt", secret: "tiny-secret-value" });
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(isNexoError(e, ErrorCodes.PLUGIN_CONFIG_INVALID));
    assert.doesNotMatch(e.message, /tiny-secret-value/);
  }
});

test("auth - jwt with an HS256 shared secret: accepted, wrong secret refused, issuer checked when set", async (t) => {
  const secret = "0123456789abcdef0123456789abcdef-shared";
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "jwt", secret, issuer: "nexo-tests", now: () => NOW }));
  const mk = (key: string, iss = "nexo-tests") =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("svc-7")
      .setIssuer(iss)
      .setExpirationTime(nowS + 60)
      .sign(new TextEncoder().encode(key));
  const ok = await call(app, await mk(secret));
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().principal.id, "svc-7");
  assert.equal(ok.json().principal.strategy, "jwt");
  assert.equal((await call(app, await mk("another-secret-another-secret-0000"))).statusCode, 401);
  assert.equal((await call(app, await mk(secret, "elsewhere"))).statusCode, 401);
  const noExp = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("svc-7").setIssuer("nexo-tests").sign(new TextEncoder().encode(secret));
  assert.equal((await call(app, noExp)).statusCode, 401, "tokens without exp are refused by default");
  const future = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("svc-7")
    .setIssuer("nexo-tests")
    .setIssuedAt(nowS + 3600)
    .setExpirationTime(nowS + 7200)
    .sign(new TextEncoder().encode(secret));
  const refused = await call(app, future);
  assert.equal(refused.statusCode, 401, "a token issued an hour from now is refused");
  assert.match(String(refused.headers["www-authenticate"]), /issue time is in the future/);
});

test("auth - jwt with a public key (PEM and JWK): ES256 accepted, a token signed by another key refused", async (t) => {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const other = await generateKeyPair("ES256");
  const pem = createPublicKey({ key: (await exportJWK(publicKey)) as never, format: "jwk" })
    .export({ type: "spki", format: "pem" })
    .toString();
  const mk = (key: CryptoKey) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256" })
      .setSubject("device-1")
      .setExpirationTime(nowS + 60)
      .sign(key);
  for (const publicKeyOption of [pem, (await exportJWK(publicKey)) as Record<string, unknown>]) {
    const app = await appWithAuth(t, new AuthPlugin({ strategy: "jwt", publicKey: publicKeyOption, now: () => NOW }));
    const ok = await call(app, await mk(privateKey));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().principal.id, "device-1");
    assert.equal((await call(app, await mk(other.privateKey))).statusCode, 401);
  }
});

test("auth - api_key: hashed keys, x-api-key or Authorization: ApiKey; unknown keys refused with an ApiKey challenge", async (t) => {
  const key = "nexo_live_4f9c2b7e1d3a5c8f";
  const app = await appWithAuth(
    t,
    new AuthPlugin({
      strategy: "api_key",
      apiKeys: [
        { id: "ci", hash: hashApiKey(key), claims: { team: "infra" } },
        { id: "ops", hash: hashApiKey("another-key-0123456789", "sha512") },
      ],
    }),
  );
  const viaHeader = await call(app, undefined, { "x-api-key": key });
  assert.equal(viaHeader.statusCode, 200);
  assert.deepEqual(viaHeader.json().principal, { id: "ci", strategy: "api_key", claims: { team: "infra" } });
  const viaAuthz = await call(app, undefined, { authorization: "ApiKey another-key-0123456789" });
  assert.equal(viaAuthz.json().principal.id, "ops");
  const wrong = await call(app, undefined, { "x-api-key": `${key}x` });
  assert.equal(wrong.statusCode, 401);
  assert.match(String(wrong.headers["www-authenticate"]), /^ApiKey realm="nexo", error="invalid_token"/);
  const none = await call(app);
  assert.equal(none.statusCode, 401);
  assert.equal(none.headers["www-authenticate"], 'ApiKey realm="nexo"');
  assert.equal(hashApiKey("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("auth - jwt with api_keys beside it: a request with a key is checked against the keys, one with a token against the secret; /openapi.json names both schemes", async (t) => {
  const secret = "0123456789abcdef0123456789abcdef-shared";
  const key = "nexo_ci_0123456789abcdef";
  const app = await appWithAuth(t, new AuthPlugin({ strategy: "jwt", secret, apiKeys: [{ id: "ci", hash: hashApiKey(key), claims: { roles: ["ci"] } }], now: () => NOW }));
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("ada")
    .setExpirationTime(nowS + 60)
    .sign(new TextEncoder().encode(secret));
  const person = await call(app, token);
  assert.equal(person.statusCode, 200, person.body);
  assert.deepEqual([person.json().principal.id, person.json().principal.strategy], ["ada", "jwt"]);
  for (const headers of [{ "x-api-key": key }, { authorization: `ApiKey ${key}` }] as Array<Record<string, string>>) {
    const machine = await call(app, undefined, headers);
    assert.equal(machine.statusCode, 200, machine.body);
    assert.deepEqual(machine.json().principal, { id: "ci", strategy: "api_key", claims: { roles: ["ci"] } });
  }
  const wrongKey = await call(app, undefined, { "x-api-key": `${key}x` });
  assert.equal(wrongKey.statusCode, 401);
  assert.equal(wrongKey.json().error.code, "NEXO_ERR_AUTH_UNAUTHENTICATED");
  assert.equal((await call(app)).statusCode, 401, "neither a key nor a token");
  // /openapi.json says so: either credential, and none on the probes.
  const doc = (await app.http.inject({ method: "GET", url: "/openapi.json", headers: { "x-api-key": key } })).json();
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ["apiKey", "bearer"]);
  assert.deepEqual(doc.components.securitySchemes.bearer, { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  assert.equal(doc.components.securitySchemes.apiKey.name, "X-API-Key");
  assert.deepEqual(doc.security, [{ bearer: [] }, { apiKey: [] }]);
  assert.deepEqual(doc.paths["/health/ready"].get.security, []);
  assert.equal(doc.paths["/workflows/whoami/execute"].post.security, undefined, "the document-wide requirement applies");
});

test("auth - exempt routes are configurable: /metrics only when listed, wildcards by segment", async (t) => {
  const key = "k-0123456789abcdef";
  const { app } = testApp(t);
  app.http.get("/metrics", async () => "m");
  app.http.get("/public/a/b", async () => "p");
  await app.addPlugin(new AuthPlugin({ strategy: "api_key", apiKeys: [{ id: "a", hash: hashApiKey(key) }], exempt: ["/health", "/metrics", "/public/**"] }));
  await app.start();
  assert.equal((await app.http.inject({ method: "GET", url: "/metrics" })).statusCode, 200);
  assert.equal((await app.http.inject({ method: "GET", url: "/public/a/b?x=1" })).statusCode, 200);
  assert.equal((await app.http.inject({ method: "GET", url: "/workflows" })).statusCode, 401);
  const { app: app2 } = testApp(t);
  app2.http.get("/metrics", async () => "m");
  await app2.addPlugin(new AuthPlugin({ strategy: "api_key", apiKeys: [{ id: "a", hash: hashApiKey(key) }] }));
  await app2.start();
  assert.equal((await app2.http.inject({ method: "GET", url: "/metrics" })).statusCode, 401, "by default /metrics needs credentials");
});

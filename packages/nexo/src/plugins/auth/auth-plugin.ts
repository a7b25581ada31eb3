import type { KeyObject } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Nexo } from "../../app/index.js";
import type { Principal } from "../../app/index.js";
import { ErrorCodes, NexoError } from "../../errors.js";
import type { Logger } from "../../log/index.js";
import { BuiltinPlugin, type OptionSpecs } from "../builtin-plugin.js";
import { check, optionError, type OptionCheck } from "../option-checks.js";
import { compilePathPatterns, pathOf } from "../path-match.js";
import { ApiKeyVerifier, apiKeyFromHeaders, hashApiKey, type ApiKeyEntry } from "./api-keys.js";
import { AuthFailure, challenge } from "./auth-error.js";
import { algorithmsForKey, importStaticKey, JwtVerifier, type KeySource } from "./jwt-verifier.js";
import { isSecureOrLoopback } from "./oidc-discovery.js";
import { OIDC_PROVIDERS } from "./providers.js";

/** Authentication strategies. */
export type AuthStrategy = "oauth2" | "jwt" | "api_key";

/** Options of AuthPlugin (nexo.yaml: `in_process_plugins.auth`; secrets as `secret_env: VAR`, keys as `key_env: VAR`). */
export interface AuthOptions {
  /** `oauth2` (OIDC bearer tokens checked against the provider's JWKS), `jwt` (a shared secret or a public key), `api_key`. Required. */
  strategy: AuthStrategy | undefined;
  /** oauth2: a preset (`google`) supplying issuer and JWKS. */
  provider: string | undefined;
  /** oauth2: the issuer URL (its JWKS found by OIDC discovery unless `jwksUri` is set); jwt: the required `iss`. */
  issuer: string | undefined;
  /** oauth2: the JWKS URL, skipping discovery. */
  jwksUri: string | undefined;
  /** Required `aud` (one of). Required for oauth2 unless `allowAnyAudience`. */
  audience: string | string[] | undefined;
  /** oauth2: accept tokens issued for any client of the provider (unsafe with a shared provider). Default false. */
  allowAnyAudience: boolean;
  /** Accepted signing algorithms. Default: the preset's, RS256/ES256/PS256/EdDSA for oauth2, HS256 for a secret, the key's own for a public key. `none` is never accepted. */
  algorithms: string[] | undefined;
  /** Seconds of clock skew tolerated on exp, nbf and iat (a token issued further in the future is refused). Default 30. */
  clockTolerance: number;
  /** Refuse tokens without `exp`. Default true. */
  requireExp: boolean;
  /** jwt: HMAC secret (HS256/384/512), at least 32 bytes. Secret. */
  secret: string | undefined;
  /** jwt: public key, PEM (SPKI) or a JWK object. */
  publicKey: string | Record<string, unknown> | undefined;
  /** Accepted keys as `{ id, hash: "sha256:<hex>" }` (or `{ id, key }` from an env var, hashed at once). Required for api_key; with jwt or oauth2, a request carrying a key is checked against them instead of a token. */
  apiKeys: ApiKeyEntry[];
  /** Paths served without authentication. Default ["/health", "/health/live", "/health/ready"]; add "/metrics" to let Prometheus scrape without a token. */
  exempt: string[];
  /** Realm in `WWW-Authenticate`. Default "nexo". */
  realm: string;
  /** How long fetched keys are trusted, in ms. Default 600000. */
  jwksCacheMaxAgeMs: number;
  /** Least time between two JWKS fetches caused by unknown `kid`s, in ms. Default 30000. */
  jwksCooldownMs: number;
  /** Deadline of discovery and JWKS requests, in ms. Default 5000. */
  httpTimeoutMs: number;
  /** After a failed OIDC discovery, how long requests fail fast before it is tried again, in ms. Default 10000. */
  discoveryRetryMs: number;
  /** Clock in ms for exp/nbf checks (tests). Default: the system clock. */
  now: (() => number) | undefined;
}

const ALL_ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
const ALG = /^(HS|RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;

const stringOrList: OptionCheck<string | string[]> = (v, p) => (Array.isArray(v) ? check.array(check.string(1), 100)(v, p) : check.string(1)(v, p));

const apiKeyCheck: OptionCheck<ApiKeyEntry> = (v, p) => {
  const o = check.object()(v, p);
  const at = (option: string, secret = false) => ({ ...p, option: `${p.option}.${option}`, secret });
  const id = check.string(1, /^[A-Za-z0-9._:@-]{1,128}$/, "an id of letters, digits, . _ : @ - (at most 128)")(o.id, at("id"));
  let hash: string;
  if (o.key !== undefined) {
    if (o.hash !== undefined) throw optionError(at("hash"), "absent when key is given (give one of key, hash)", o.hash);
    hash = hashApiKey(check.string(16, undefined, "a key of at least 16 characters")(o.key, at("key", true)));
  } else {
    hash = check.string(1, /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/, 'a hash "sha256:<64 hex>" or "sha512:<128 hex>" (or give key / key_env)')(o.hash, at("hash"));
  }
  for (const k of Object.keys(o)) if (!["id", "hash", "key", "claims"].includes(k)) throw optionError(at(k), "absent (api key fields: id, hash, key, claims)", o[k]);
  const entry: ApiKeyEntry = { id, hash };
  if (o.claims !== undefined) entry.claims = check.object()(o.claims, at("claims"));
  return entry;
};

const SPECS: OptionSpecs<AuthOptions> = {
  strategy: check.optional(check.oneOf(["oauth2", "jwt", "api_key"] as const)),
  provider: check.optional(check.oneOf(Object.keys(OIDC_PROVIDERS))),
  issuer: check.optional(check.string(1)),
  jwksUri: check.optional(check.url()),
  audience: check.optional(stringOrList),
  allowAnyAudience: check.bool(),
  algorithms: check.optional(check.array(check.string(1, ALG, "a JWS algorithm such as RS256, ES256, HS256 or EdDSA (never none)"), 20)),
  clockTolerance: check.int(0, 3600),
  requireExp: check.bool(),
  secret: check.optional(check.string(32, undefined, "a secret of at least 32 characters (HS256 needs 256 bits)")),
  publicKey: check.optional((v, p) =>
    typeof v === "string" ? check.string(1, /-----BEGIN PUBLIC KEY-----/, "a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK object")(v, p) : check.object()(v, p),
  ),
  apiKeys: check.array(apiKeyCheck, 100_000),
  exempt: check.array(check.pathPattern()),
  realm: check.string(1, /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/, "a realm of printable characters without quotes or backslashes"),
  jwksCacheMaxAgeMs: check.int(1000, 604_800_000),
  jwksCooldownMs: check.int(0, 86_400_000),
  httpTimeoutMs: check.int(1, 120_000),
  discoveryRetryMs: check.int(0, 86_400_000),
  now: check.optional(check.fn<() => number>()),
};

/** Authenticates one request: a principal (maybe after I/O) or an AuthFailure thrown. */
type Authenticate = (request: FastifyRequest) => Principal | Promise<Principal>;

/**
 * Authenticates HTTP API requests in an `onRequest` hook and sets
 * `request.principal`, which `POST /workflows/:name/execute` passes to the
 * workflow as `ctx.principal`. Strategies: `oauth2` (OIDC ID/access tokens:
 * signature against the provider's JWKS, issuer, audience, expiry; presets
 * such as `google`, or any issuer by URL through discovery), `jwt` (shared
 * secret or public key) and `api_key` (hashed keys, `x-api-key` or
 * `Authorization: ApiKey`). Refused requests get 401 with `WWW-Authenticate`
 * (RFC 6750 error codes) and the `NEXO_ERR_AUTH_UNAUTHENTICATED` body;
 * `exempt` paths (default `/health`) pass without credentials.
 * @example
 * const auth = new AuthPlugin();
 * auth.strategy = "oauth2";
 * auth.provider = "google";
 * auth.audience = "1234.apps.googleusercontent.com"; // your OAuth client id
 * app.addPlugin(auth);
 */
export class AuthPlugin extends BuiltinPlugin<AuthOptions> {
  private verifier: JwtVerifier | undefined;
  private log: Logger | undefined;

  constructor(options?: Partial<AuthOptions>) {
    super(
      "auth",
      SPECS,
      {
        strategy: undefined,
        provider: undefined,
        issuer: undefined,
        jwksUri: undefined,
        audience: undefined,
        allowAnyAudience: false,
        algorithms: undefined,
        clockTolerance: 30,
        requireExp: true,
        secret: undefined,
        publicKey: undefined,
        apiKeys: [],
        exempt: ["/health", "/health/live", "/health/ready"],
        realm: "nexo",
        jwksCacheMaxAgeMs: 600_000,
        jwksCooldownMs: 30_000,
        httpTimeoutMs: 5000,
        discoveryRetryMs: 10_000,
        now: undefined,
      },
      options,
      ["secret", "apiKeys"],
    );
  }

  override get description(): string {
    return "Authenticates HTTP API requests (oauth2, jwt, api_key)";
  }

  get strategy(): AuthStrategy | undefined {
    return this.options.strategy;
  }
  set strategy(v: AuthStrategy | undefined) {
    this.setOption("strategy", v);
  }
  get provider(): string | undefined {
    return this.options.provider;
  }
  set provider(v: string | undefined) {
    this.setOption("provider", v);
  }
  get issuer(): string | undefined {
    return this.options.issuer;
  }
  set issuer(v: string | undefined) {
    this.setOption("issuer", v);
  }
  get jwksUri(): string | undefined {
    return this.options.jwksUri;
  }
  set jwksUri(v: string | undefined) {
    this.setOption("jwksUri", v);
  }
  get audience(): string | string[] | undefined {
    return this.options.audience;
  }
  set audience(v: string | string[] | undefined) {
    this.setOption("audience", v);
  }
  get algorithms(): string[] | undefined {
    return this.options.algorithms;
  }
  set algorithms(v: string[] | undefined) {
    this.setOption("algorithms", v);
  }
  get secret(): string | undefined {
    return this.options.secret;
  }
  set secret(v: string | undefined) {
    this.setOption("secret", v);
  }
  get publicKey(): string | Record<string, unknown> | undefined {
    return this.options.publicKey;
  }
  set publicKey(v: string | Record<string, unknown> | undefined) {
    this.setOption("publicKey", v);
  }
  get apiKeys(): ApiKeyEntry[] {
    return [...this.options.apiKeys];
  }
  set apiKeys(v: ApiKeyEntry[]) {
    this.setOption("apiKeys", v);
  }
  get exempt(): string[] {
    return [...this.options.exempt];
  }
  set exempt(v: string[]) {
    this.setOption("exempt", v);
  }
  get clockTolerance(): number {
    return this.options.clockTolerance;
  }
  set clockTolerance(v: number) {
    this.setOption("clockTolerance", v);
  }

  /** Issuer(s), JWKS URL and algorithms in effect for oauth2 (after presets), for status pages and tests. */
  resolvedOidc(): { issuers: string[]; jwksUri: string | undefined; algorithms: string[] } | undefined {
    if (this.options.strategy !== "oauth2") return undefined;
    const o = this.options;
    const preset = o.provider ? OIDC_PROVIDERS[o.provider] : undefined;
    return {
      issuers: o.issuer ? [o.issuer] : (preset?.issuers ?? []),
      jwksUri: o.jwksUri ?? preset?.jwksUri ?? this.verifier?.jwksUri,
      algorithms: o.algorithms ?? preset?.algorithms ?? ALL_ASYMMETRIC.filter((a) => a !== "Ed25519"),
    };
  }

  override setup(app: Nexo): void {
    super.setup(app);
    this.log = app.logger.child({ plugin: this.name });
    const authenticate = this.buildAuthenticator();
    const isExempt = compilePathPatterns(this.options.exempt);
    const scheme = this.options.strategy === "api_key" ? "ApiKey" : "Bearer";
    app.http.openApiSecurity = { schemes: this.openApiSchemes(), isExempt };
    const realm = this.options.realm;
    // The refusal goes to `done`: the HTTP surface's error handler writes every error response.
    const refuse = (err: unknown, request: FastifyRequest, reply: FastifyReply, done: (err: Error) => void): void => {
      if (!(err instanceof AuthFailure)) {
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.log?.debug({ reason: err.kind, description: err.description, url: pathOf(request.url) }, "request not authenticated");
      if (err.kind === "unavailable") {
        this.log?.warn({ reason: err.description }, "authentication unavailable");
        reply.header("retry-after", "5");
        done(new NexoError(ErrorCodes.AUTH_UNAVAILABLE, "authentication is unavailable: the identity provider cannot be reached; try again shortly"));
        return;
      }
      reply.header("www-authenticate", challenge(scheme, realm, err));
      const code = err.kind === "invalid_request" ? ErrorCodes.AUTH_INVALID_REQUEST : ErrorCodes.AUTH_UNAUTHENTICATED;
      done(new NexoError(code, err.kind === "missing" ? "authentication required" : `not authenticated: ${err.description}`));
    };
    // Callback style: the api_key path is synchronous and skips a promise per request.
    app.http.addHook("onRequest", (request, reply, done) => {
      if (isExempt(pathOf(request.url))) return done();
      let out: Principal | Promise<Principal>;
      try {
        out = authenticate(request);
      } catch (err) {
        return refuse(err, request, reply, done);
      }
      if (out instanceof Promise) {
        out.then(
          (principal) => {
            request.principal = principal;
            done();
          },
          (err: unknown) => refuse(err, request, reply, done),
        );
      } else {
        request.principal = out;
        done();
      }
    });
  }

  /** What `/openapi.json` says about credentials: a bearer token, an API key, or either. */
  private openApiSchemes(): Record<string, Record<string, unknown>> {
    const o = this.options;
    const schemes: Record<string, Record<string, unknown>> = {};
    if (o.strategy === "jwt" || o.strategy === "oauth2") schemes.bearer = { type: "http", scheme: "bearer", bearerFormat: "JWT" };
    if (o.strategy === "api_key" || o.apiKeys.length > 0) {
      schemes.apiKey = { type: "apiKey", in: "header", name: "X-API-Key", description: "Or `Authorization: ApiKey <key>`" };
    }
    return schemes;
  }

  private buildAuthenticator(): Authenticate {
    const o = this.options;
    if (o.strategy === undefined) this.fail("strategy", 'one of "oauth2", "jwt", "api_key"', undefined);
    if (o.provider !== undefined && o.strategy !== "oauth2") this.fail("provider", `unset unless strategy is "oauth2" (strategy is ${o.strategy})`);
    if (o.strategy === "api_key") {
      if (o.apiKeys.length === 0) this.fail("apiKeys", "at least one { id, hash } entry for strategy api_key", o.apiKeys);
      return this.apiKeyAuthenticator();
    }
    this.verifier = o.strategy === "oauth2" ? this.oauth2Verifier() : this.jwtVerifier();
    const verifier = this.verifier;
    const bearer: Authenticate = (request) => verifier.verify(bearerToken(request.headers.authorization));
    if (o.apiKeys.length === 0) return bearer;
    // Keys beside tokens: people sign in at the provider while machines (CI, services) hold a key.
    const keys = this.apiKeyAuthenticator();
    return (request) => (apiKeyFromHeaders(request.headers) !== undefined ? keys(request) : bearer(request));
  }

  private apiKeyAuthenticator(): Authenticate {
    const verifier = new ApiKeyVerifier(this.options.apiKeys);
    return (request) => {
      const key = apiKeyFromHeaders(request.headers);
      if (key === undefined) {
        if (request.headers.authorization !== undefined && /^apikey\b/i.test(request.headers.authorization))
          throw new AuthFailure("invalid_request", "the ApiKey credentials are empty");
        throw new AuthFailure("missing", "an API key is required");
      }
      const principal = verifier.verify(key);
      if (!principal) throw new AuthFailure("invalid_token", "the API key is not valid");
      return principal;
    };
  }

  private oauth2Verifier(): JwtVerifier {
    const o = this.options;
    if (o.secret !== undefined || o.publicKey !== undefined)
      this.fail(o.secret !== undefined ? "secret" : "publicKey", 'unset for strategy "oauth2" (keys come from the provider\'s JWKS; use strategy "jwt" for a fixed key)');
    const preset = o.provider ? OIDC_PROVIDERS[o.provider] : undefined;
    if (!preset && o.issuer === undefined) this.fail("issuer", 'the issuer URL (or provider: "google") for strategy "oauth2"', undefined);
    if (o.audience === undefined && !o.allowAnyAudience) {
      this.fail("audience", "your client id(s) at the provider (tokens for other clients must be refused); set allowAnyAudience: true to accept any", undefined);
    }
    let source: KeySource;
    if (o.jwksUri !== undefined) source = { kind: "jwks", jwksUri: o.jwksUri };
    else if (preset && o.issuer === undefined) source = { kind: "jwks", jwksUri: preset.jwksUri };
    else source = { kind: "discovery", issuer: o.issuer! };
    if (o.issuer !== undefined) {
      let u: URL | undefined;
      try {
        u = new URL(o.issuer);
      } catch {
        u = undefined;
      }
      if (!u || !isSecureOrLoopback(u)) this.fail("issuer", "an https:// issuer URL (http:// only on loopback)");
    }
    if (source.kind === "jwks" && !isSecureOrLoopback(new URL(source.jwksUri))) this.fail("jwksUri", "an https:// URL (http:// only on loopback)", source.jwksUri);
    const algorithms = o.algorithms ?? preset?.algorithms ?? ALL_ASYMMETRIC;
    if (algorithms.some((a) => a.startsWith("HS")))
      this.fail("algorithms", 'asymmetric algorithms only for strategy "oauth2" (HS* would let anyone holding the public key sign)', algorithms);
    return new JwtVerifier({
      strategy: "oauth2",
      source,
      algorithms,
      issuer: o.issuer ?? preset!.issuers,
      ...(o.audience !== undefined ? { audience: o.audience } : {}),
      ...this.common(),
    });
  }

  private jwtVerifier(): JwtVerifier {
    const o = this.options;
    if ((o.secret === undefined) === (o.publicKey === undefined)) this.fail("secret", 'exactly one of secret (HS*) or publicKey for strategy "jwt"', undefined);
    let key: KeyObject;
    try {
      key = importStaticKey(o.secret, o.publicKey);
    } catch (err) {
      throw new NexoError(ErrorCodes.AUTH_CONFIG, `auth option publicKey cannot be read as a public key: ${(err as Error).message}`, {
        pluginId: this.name,
        field: "publicKey",
        cause: err,
      });
    }
    const algorithms = o.algorithms ?? algorithmsForKey(key);
    const symmetric = key.type === "secret";
    const wrong = algorithms.find((a) => a.startsWith("HS") !== symmetric);
    if (wrong !== undefined || algorithms.length === 0) {
      this.fail("algorithms", symmetric ? "HS256, HS384 or HS512 with a secret" : "asymmetric algorithms matching the public key (never HS* with a public key)", algorithms);
    }
    return new JwtVerifier({
      strategy: "jwt",
      source: { kind: "static", key },
      algorithms,
      ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
      ...(o.audience !== undefined ? { audience: o.audience } : {}),
      ...this.common(),
    });
  }

  private common() {
    const o = this.options;
    return {
      clockTolerance: o.clockTolerance,
      requireExp: o.requireExp,
      jwksCacheMaxAgeMs: o.jwksCacheMaxAgeMs,
      jwksCooldownMs: o.jwksCooldownMs,
      httpTimeoutMs: o.httpTimeoutMs,
      discoveryRetryMs: o.discoveryRetryMs,
      ...(o.now ? { now: o.now } : {}),
    };
  }
}

/** RFC 6750 section 2.1: `Authorization: Bearer <token68>`. */
function bearerToken(header: string | undefined): string {
  if (header === undefined || header.length === 0) throw new AuthFailure("missing", "a bearer token is required");
  const space = header.indexOf(" ");
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== "bearer") throw new AuthFailure("missing", "a bearer token is required");
  const token = header.slice(space + 1).trim();
  if (space === -1 || token.length === 0 || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw new AuthFailure("invalid_request", "the Authorization header must be 'Bearer <token>'");
  }
  return token;
}

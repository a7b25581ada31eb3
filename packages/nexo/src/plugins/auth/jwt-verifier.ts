import { createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import type { Principal } from "../../app/index.js";
import { AuthFailure } from "./auth-error.js";
import { discoverOidc } from "./oidc-discovery.js";

/** Where the verification keys come from. */
export type KeySource = { kind: "static"; key: KeyObject } | { kind: "jwks"; jwksUri: string } | { kind: "discovery"; issuer: string };

/** How tokens are checked. */
export interface JwtVerifierOptions {
  strategy: "oauth2" | "jwt";
  source: KeySource;
  algorithms: string[];
  issuer?: string | string[];
  audience?: string | string[];
  /** Seconds of clock skew tolerated on exp/nbf/iat. */
  clockTolerance: number;
  requireExp: boolean;
  jwksCacheMaxAgeMs: number;
  jwksCooldownMs: number;
  httpTimeoutMs: number;
  /** After a failed discovery, wait this long before trying again (requests fail fast meanwhile). */
  discoveryRetryMs: number;
  now?: () => number;
}

/**
 * Verifies bearer JWTs: signature (static key, a JWKS URL, or a JWKS found by
 * OIDC discovery), allowed algorithms (never `none`), issuer, audience, exp,
 * nbf and iat (not in the future) with clock tolerance. The remote JWKS is jose's: cached, refetched
 * when a token names an unknown `kid` (at most once per cooldown), so keys
 * the provider adds are picked up and keys it removed stop verifying.
 */
export class JwtVerifier {
  private keys: JWTVerifyGetKey | KeyObject | undefined;
  private discovering: Promise<JWTVerifyGetKey> | undefined;
  private discoveryFailedAt = -Infinity;
  private discoveryError: AuthFailure | undefined;

  /** The JWKS URL in use (after discovery), if any. */
  jwksUri: string | undefined;

  constructor(private readonly o: JwtVerifierOptions) {
    if (o.source.kind === "static") this.keys = o.source.key;
    else if (o.source.kind === "jwks") this.keys = this.remote(o.source.jwksUri);
  }

  /** The principal of a valid token; throws AuthFailure otherwise. */
  async verify(token: string): Promise<Principal> {
    const key = this.keys ?? (await this.discover());
    const options: JWTVerifyOptions = {
      algorithms: this.o.algorithms,
      clockTolerance: this.o.clockTolerance,
      ...(this.o.issuer !== undefined ? { issuer: this.o.issuer } : {}),
      ...(this.o.audience !== undefined ? { audience: this.o.audience } : {}),
      ...(this.o.requireExp ? { requiredClaims: ["exp"] } : {}),
      ...(this.o.now ? { currentDate: new Date(this.o.now()) } : {}),
    };
    let payload: JWTPayload;
    try {
      payload = (typeof key === "function" ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)).payload;
    } catch (err) {
      throw classify(err);
    }
    // jose checks iat only against maxTokenAge: a token "issued" in the future would otherwise outlive its stated age.
    const nowS = (this.o.now?.() ?? Date.now()) / 1000;
    if (typeof payload.iat === "number" && payload.iat > nowS + this.o.clockTolerance) {
      throw new AuthFailure("invalid_token", "the token's issue time is in the future");
    }
    const id = [payload.sub, payload.azp, payload.client_id].find((v): v is string => typeof v === "string" && v.length > 0);
    if (id === undefined) throw new AuthFailure("invalid_token", "the token has no sub claim");
    return { id, strategy: this.o.strategy, claims: payload as Record<string, unknown> };
  }

  private remote(uri: string): JWTVerifyGetKey {
    this.jwksUri = uri;
    return createRemoteJWKSet(new URL(uri), {
      cacheMaxAge: this.o.jwksCacheMaxAgeMs,
      cooldownDuration: this.o.jwksCooldownMs,
      timeoutDuration: this.o.httpTimeoutMs,
    });
  }

  private discover(): Promise<JWTVerifyGetKey> {
    if (this.o.source.kind !== "discovery") throw new Error("no key source");
    const now = this.o.now?.() ?? Date.now();
    // A dead issuer must not be hammered by every request: fail fast until the retry delay passed.
    if (this.discoveryError && now - this.discoveryFailedAt < this.o.discoveryRetryMs) return Promise.reject(this.discoveryError);
    const issuer = this.o.source.issuer;
    this.discovering ??= discoverOidc(issuer, this.o.httpTimeoutMs).then(
      (meta) => {
        const keys = this.remote(meta.jwks_uri);
        this.keys = keys;
        this.discovering = undefined;
        this.discoveryError = undefined;
        return keys;
      },
      (err: unknown) => {
        this.discovering = undefined;
        this.discoveryFailedAt = this.o.now?.() ?? Date.now();
        this.discoveryError = err instanceof AuthFailure ? err : new AuthFailure("unavailable", `OIDC discovery failed: ${(err as Error).message}`);
        throw this.discoveryError;
      },
    );
    return this.discovering;
  }
}

/** jose's errors, as what the client is told. Unreachable key servers are `unavailable`, not the client's fault. */
function classify(err: unknown): AuthFailure {
  if (err instanceof AuthFailure) return err;
  if (err instanceof errors.JWTExpired) return new AuthFailure("invalid_token", "the token has expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "nbf":
        return new AuthFailure("invalid_token", "the token is not valid yet");
      case "iss":
        return new AuthFailure("invalid_token", "the token was issued by an unexpected issuer");
      case "aud":
        return new AuthFailure("invalid_token", "the token is meant for another audience");
      case "iat":
        return new AuthFailure("invalid_token", "the token's issue time is in the future");
      default:
        return new AuthFailure("invalid_token", `the token's ${err.claim} claim is missing or invalid`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new AuthFailure("invalid_token", "the token's signing algorithm is not allowed");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AuthFailure("invalid_token", "the token's signature is not valid");
  if (err instanceof errors.JWKSNoMatchingKey) return new AuthFailure("invalid_token", "no known key matches the token (unknown kid)");
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new AuthFailure("invalid_token", "the token's key is ambiguous (several keys match)");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return new AuthFailure("invalid_token", "the token is malformed or uses an unsupported feature");
  }
  if (err instanceof errors.JWKSTimeout) return new AuthFailure("unavailable", "the identity provider's key set did not answer in time");
  if (err instanceof errors.JWKSInvalid) return new AuthFailure("unavailable", "the identity provider's key set is not valid");
  // fetch failures (TypeError) and jose's generic "expected 200 OK" come from the key server.
  return new AuthFailure("unavailable", `the identity provider's key set cannot be fetched: ${(err as Error)?.message ?? String(err)}`);
}

/** A verification key from config: HMAC secret bytes, or a public key as PEM or JWK. */
export function importStaticKey(secret: string | undefined, publicKey: string | Record<string, unknown> | undefined): KeyObject {
  if (secret !== undefined) return createSecretKey(Buffer.from(secret, "utf8"));
  if (typeof publicKey === "string") return createPublicKey(publicKey);
  return createPublicKey({ key: publicKey as never, format: "jwk" });
}

/** Default algorithms for a public key, from its type and curve. */
export function algorithmsForKey(key: KeyObject): string[] {
  if (key.type === "secret") return ["HS256"];
  switch (key.asymmetricKeyType) {
    case "rsa":
      return ["RS256"];
    case "rsa-pss":
      return ["PS256"];
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return [curve === "secp384r1" ? "ES384" : curve === "secp521r1" ? "ES512" : "ES256"];
    }
    case "ed25519":
      return ["EdDSA", "Ed25519"];
    default:
      return [];
  }
}

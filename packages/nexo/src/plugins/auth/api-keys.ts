import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Principal } from "../../app/types.js";
import { digestBytes, digestText } from "../../util/digest.js";

/** Hash algorithms accepted for stored API keys. */
export type ApiKeyHashAlgorithm = "sha256" | "sha512";

/** One accepted API key as configured: its id and its hash (`sha256:<hex>` or `sha512:<hex>`), never the key. */
export interface ApiKeyEntry {
  /** Becomes the principal's id (e.g. "ci", "billing-service"). */
  id: string;
  /** `sha256:<64 hex>` or `sha512:<128 hex>` of the key's UTF-8 bytes. */
  hash: string;
  /** Extra attributes given to the principal (`principal.claims`). */
  claims?: Record<string, unknown>;
}

const HASH_PATTERN = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** True for a well-formed `sha256:<hex>` / `sha512:<hex>` hash string. */
export function isApiKeyHash(s: string): boolean {
  return HASH_PATTERN.test(s);
}

/**
 * The hash to put in config for `key`: `sha256:<hex>` by default. Same as
 * `printf %s "$KEY" | sha256sum` with the `sha256:` prefix.
 */
export function hashApiKey(key: string, algorithm: ApiKeyHashAlgorithm = "sha256"): string {
  return `${algorithm}:${digestText(algorithm, key)}`;
}

/**
 * The API key a request carries: `x-api-key: <key>` or
 * `Authorization: ApiKey <key>`. Undefined when there is none.
 */
export function apiKeyFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  const x = headers["x-api-key"];
  if (typeof x === "string" && x.length > 0) return x;
  const auth = headers.authorization;
  if (typeof auth === "string" && auth.length > 7 && auth.slice(0, 7).toLowerCase() === "apikey ") {
    const key = auth.slice(7).trim();
    return key.length > 0 ? key : undefined;
  }
  return undefined;
}

interface StoredKey {
  algorithm: ApiKeyHashAlgorithm;
  digest: Buffer;
  /** Made once: every request with this key shares it (frozen, so no workflow can change another's). */
  principal: Principal;
}

/**
 * Checks presented API keys against stored hashes. Every stored key is
 * compared, with `timingSafeEqual`, whether or not an earlier one matched, so
 * the time taken does not depend on which key (if any) matched.
 */
export class ApiKeyVerifier {
  private readonly keys: StoredKey[];
  private readonly algorithms: ApiKeyHashAlgorithm[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.keys = entries.map((e) => {
      const [algorithm, hex] = e.hash.split(":") as [ApiKeyHashAlgorithm, string];
      const principal: Principal = Object.freeze({ id: e.id, strategy: "api_key", ...(e.claims ? { claims: Object.freeze({ ...e.claims }) } : {}) });
      return { algorithm, digest: Buffer.from(hex, "hex"), principal };
    });
    this.algorithms = [...new Set(this.keys.map((k) => k.algorithm))];
  }

  /** The principal of `key`, or undefined when no stored hash matches. */
  verify(key: string): Principal | undefined {
    // Almost always one algorithm: no Map for the common case.
    const only = this.algorithms.length === 1 ? digestBytes(this.algorithms[0], key) : undefined;
    const byAlgorithm = only ? undefined : new Map(this.algorithms.map((a) => [a, digestBytes(a, key)]));
    let found: StoredKey | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(only ?? byAlgorithm!.get(k.algorithm)!, k.digest) && found === undefined) found = k;
    }
    return found?.principal;
  }
}

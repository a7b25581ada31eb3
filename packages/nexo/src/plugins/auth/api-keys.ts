import type { IncomingHttpHeaders } from "node:http";
import type { Principal } from "../../app/index.js";
import { digestText } from "../../util/index.js";

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

/** Verified keys remembered by an ApiKeyVerifier. */
const RECENT_KEYS = 1024;

/**
 * Checks presented API keys against stored hashes: the presented key is
 * hashed once per algorithm in use and the digest looked up in a table.
 * A lookup by digest needs no constant-time comparison: how long it takes
 * depends on the digest of the guess, which tells an attacker nothing about
 * the stored keys (the same reasoning as looking tokens up by their hash in
 * a database). Hex digests, not Buffers: a Buffer per request costs more than
 * the hash itself.
 */
export class ApiKeyVerifier {
  /** Per algorithm, hex digest -> principal (made once, frozen: every request with the key shares it). */
  private readonly tables: Array<{ algorithm: ApiKeyHashAlgorithm; byDigest: Map<string, Principal> }> = [];

  constructor(entries: readonly ApiKeyEntry[]) {
    for (const e of entries) {
      const [algorithm, hex] = e.hash.split(":") as [ApiKeyHashAlgorithm, string];
      let table = this.tables.find((t) => t.algorithm === algorithm);
      if (!table) this.tables.push((table = { algorithm, byDigest: new Map() }));
      // Two entries with one hash: the first listed keeps it.
      if (table.byDigest.has(hex)) continue;
      table.byDigest.set(hex, Object.freeze({ id: e.id, strategy: "api_key", ...(e.claims ? { claims: Object.freeze({ ...e.claims }) } : {}) }));
    }
  }

  /**
   * Keys that verified lately, to their principal: a client sends the same key on every
   * request, and hashing it again was a tenth of the loaded HTTP path's own cost. Only
   * keys that matched a stored hash are kept (a stranger's guesses never fill it), at
   * most RECENT_KEYS, emptied when full.
   */
  private readonly recent = new Map<string, Principal>();

  /** The principal of `key`, or undefined when no stored hash matches. */
  verify(key: string): Principal | undefined {
    const known = this.recent.get(key);
    if (known !== undefined) return known;
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i];
      const principal = t.byDigest.get(digestText(t.algorithm, key));
      if (principal !== undefined) {
        if (this.recent.size >= RECENT_KEYS) this.recent.clear();
        this.recent.set(key, principal);
        return principal;
      }
    }
    return undefined;
  }
}

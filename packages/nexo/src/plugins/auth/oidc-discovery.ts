import { AuthFailure } from "./auth-error.js";

/** The part of an OpenID Provider's metadata we use. */
export interface OidcMetadata {
  issuer: string;
  jwks_uri: string;
}

const MAX_METADATA_BYTES = 256 * 1024;

/** True for https URLs, and http ones on loopback (local fakes and sidecars). */
export function isSecureOrLoopback(url: URL): boolean {
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}

/**
 * OpenID Connect Discovery 1.0: GET `<issuer>/.well-known/openid-configuration`
 * and check that the document names the same issuer (section 4.3) and an
 * https (or loopback) `jwks_uri`. Network problems are `unavailable`.
 */
export async function discoverOidc(issuer: string, timeoutMs: number): Promise<OidcMetadata> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  } catch (err) {
    throw new AuthFailure("unavailable", `OIDC discovery at ${url} failed: ${(err as Error).message}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new AuthFailure("unavailable", `OIDC discovery at ${url} answered HTTP ${res.status}`);
  }
  const text = await res.text();
  if (text.length > MAX_METADATA_BYTES) throw new AuthFailure("unavailable", `OIDC discovery document at ${url} is larger than ${MAX_METADATA_BYTES} bytes`);
  let doc: Partial<OidcMetadata>;
  try {
    doc = JSON.parse(text) as Partial<OidcMetadata>;
  } catch {
    throw new AuthFailure("unavailable", `OIDC discovery document at ${url} is not JSON`);
  }
  if (doc.issuer !== issuer) {
    throw new AuthFailure("unavailable", `OIDC discovery document at ${url} names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`);
  }
  let jwks: URL;
  try {
    jwks = new URL(String(doc.jwks_uri));
  } catch {
    throw new AuthFailure("unavailable", `OIDC discovery document at ${url} has no valid jwks_uri`);
  }
  if (!isSecureOrLoopback(jwks)) throw new AuthFailure("unavailable", `OIDC discovery document at ${url}: jwks_uri must be https`);
  return { issuer, jwks_uri: jwks.href };
}

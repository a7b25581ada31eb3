/** What a named OIDC provider preset fills in. */
export interface OidcProviderPreset {
  /** The `iss` values its tokens carry (the first is the canonical one). */
  issuers: string[];
  /** Its JSON Web Key Set. */
  jwksUri: string;
  /** Algorithms its ID tokens are signed with. */
  algorithms: string[];
}

/**
 * OIDC provider presets for `provider:`. Google signs ID tokens with RS256;
 * its `iss` is `https://accounts.google.com` or, for older clients,
 * `accounts.google.com` (per Google's OpenID Connect documentation).
 */
export const OIDC_PROVIDERS: Readonly<Record<string, OidcProviderPreset>> = Object.freeze({
  google: {
    issuers: ["https://accounts.google.com", "accounts.google.com"],
    jwksUri: "https://www.googleapis.com/oauth2/v3/certs",
    algorithms: ["RS256"],
  },
});

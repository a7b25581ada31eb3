/** Why a request was not authenticated; maps to an HTTP status and an RFC 6750 error code. */
export type AuthFailureKind =
  /** No credentials at all: 401 with a bare challenge. */
  | "missing"
  /** Credentials present but malformed (RFC 6750 invalid_request): 400. */
  | "invalid_request"
  /** Credentials present but not valid (RFC 6750 invalid_token): 401. */
  | "invalid_token"
  /** The identity provider (discovery, JWKS) cannot be reached: 503. */
  | "unavailable";

/** Thrown by authenticators; the hook turns it into the reply. `description` is safe to send to the client. */
export class AuthFailure extends Error {
  constructor(
    readonly kind: AuthFailureKind,
    readonly description: string,
  ) {
    super(description);
    this.name = "AuthFailure";
  }
}

/**
 * The `WWW-Authenticate` value: `<scheme> realm="<realm>"`, plus RFC 6750's
 * `error` and `error_description` when credentials were sent but refused.
 */
export function challenge(scheme: string, realm: string, failure?: AuthFailure): string {
  let v = `${scheme} realm="${quotable(realm)}"`;
  if (failure && (failure.kind === "invalid_token" || failure.kind === "invalid_request")) {
    v += `, error="${failure.kind}", error_description="${quotable(failure.description)}"`;
  }
  return v;
}

/** RFC 6750 allows %x20-21 / %x23-5B / %x5D-7E in error_description: drop the rest. */
function quotable(s: string): string {
  return s.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "").slice(0, 200);
}

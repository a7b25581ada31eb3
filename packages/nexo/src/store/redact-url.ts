/**
 * A connection string safe to log: the password of `scheme://user:password@host`
 * (and a `password=` query parameter) replaced by `***`. Strings that are not
 * URLs come back unchanged.
 * @example redactUrl("postgres://app:s3cret@db:5432/nexo") // "postgres://app:***@db:5432/nexo"
 */
export function redactUrl(url: string): string {
  // Done on the text, not through `new URL`, so that a string URL cannot parse still loses its password.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:?#]*):[^@/?#]*@/i, "$1:***@").replace(/([?&]password=)[^&#]*/gi, "$1***");
}

/** Remove every occurrence of `secret` from `text` (driver messages that echo a connection string). */
export function scrubSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join("***");
}

/**
 * The IETF rate-limit fields (draft-ietf-httpapi-ratelimit-headers-09 and
 * later: `RateLimit-Policy` and `RateLimit`, Structured Field lists).
 *
 * A token bucket maps onto a quota policy as `q` = the bucket's capacity
 * (burst) over `w` = the seconds it takes to refill from empty, so q/w is the
 * sustained rate. `RateLimit` gives `r` = whole tokens left and `t` = seconds
 * until the next token, the window in which the client can use no more than
 * `r` (the draft's definition); a 429's `Retry-After` is the same `t`.
 */
export function policyField(name: string, perMinute: number, burst: number): string {
  const w = Math.max(1, Math.ceil((burst * 60) / perMinute));
  return `"${name}";q=${burst};w=${w}`;
}

/** `"name";r=<remaining>;t=<seconds>`. */
export function rateLimitField(name: string, remaining: number, seconds: number): string {
  return `"${name}";r=${remaining};t=${seconds}`;
}

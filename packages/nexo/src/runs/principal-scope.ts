import type { Principal } from "../app/index.js";

/** Scope of anonymous callers (no auth plugin, or a public route). */
export const ANONYMOUS_SCOPE = "anonymous";

/**
 * The key that separates runs and idempotency keys between callers: the
 * principal the auth plugin put on the request (`<strategy>:<id>`). One
 * function, so a tenant claim can later be folded in at a single place.
 */
export function principalScope(principal: Principal | null | undefined, tenant: string | null = null): string {
  const base = !principal || typeof principal.id !== "string" ? ANONYMOUS_SCOPE : `${principal.strategy ?? "principal"}:${principal.id}`;
  // With a tenant claim (docs/authorization.md), the same subject in two tenants owns two separate sets of runs and keys.
  return tenant === null ? base : `tenant:${JSON.stringify(tenant)}/${base}`;
}

import type { Principal } from "../app/types.js";

/** Scope of anonymous callers (no auth plugin, or a public route). */
export const ANONYMOUS_SCOPE = "anonymous";

/**
 * The key that separates runs and idempotency keys between callers: the
 * principal the auth plugin put on the request (`<strategy>:<id>`). One
 * function, so a tenant claim can later be folded in at a single place.
 */
export function principalScope(principal: Principal | null | undefined): string {
  if (!principal || typeof principal.id !== "string") return ANONYMOUS_SCOPE;
  return `${principal.strategy ?? "principal"}:${principal.id}`;
}

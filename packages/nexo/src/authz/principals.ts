import type { Principal } from "../app/index.js";

/**
 * Strategies the daemon gives to callers it starts itself. An authenticator
 * never produces them, so `binding:x` cannot be claimed by a token whose
 * subject happens to be "x".
 */
export const INTERNAL_STRATEGIES = ["binding", "poller", "schedule", "local"] as const;
export type InternalStrategy = (typeof INTERNAL_STRATEGIES)[number];

const cache = new Map<string, Principal>();

/**
 * The principal of a caller the daemon runs on its own behalf (a binding, a
 * poller, a schedule) or of a local operator (`local`: `control_socket`, the
 * stdio MCP server `mcp_stdio`). Shared and frozen per id.
 */
export function internalPrincipal(strategy: InternalStrategy, id: string): Principal {
  const key = `${strategy}\0${id}`;
  let p = cache.get(key);
  if (p === undefined) {
    p = Object.freeze({ id, strategy });
    if (cache.size < 10_000) cache.set(key, p);
  }
  return p;
}

/** True for a principal made by `internalPrincipal`. */
export function isInternal(p: Principal): boolean {
  return (INTERNAL_STRATEGIES as readonly string[]).includes(p.strategy ?? "");
}

/** The value at a dotted claim path (`realm_access.roles`), or undefined. */
export function claimAt(p: Principal, path: string): unknown {
  let v: unknown = p.claims;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** A claim as a list of strings: an array's strings, or a string split on spaces (OAuth `scope`). */
export function claimList(p: Principal, path: string): string[] {
  const v = claimAt(p, path);
  if (typeof v === "string") return v.split(" ").filter((s) => s.length > 0);
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === "string");
  return [];
}

/** A short label for logs and the audit trail: `anonymous`, `binding:support`, `jwt:alice`. */
export function principalLabel(p: Principal | undefined): string {
  if (p === undefined) return "anonymous";
  return p.strategy ? `${p.strategy}:${p.id}` : p.id;
}

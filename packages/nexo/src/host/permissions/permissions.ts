import { patternCovers } from "../allowlist.js";
import type { PluginManifest } from "../../manifest/index.js";
import { ownProperty } from "../../util/index.js";

/**
 * What a plugin may use beyond its own channels, by stable name:
 * `llm` (`llm.complete`), `memory` (`memory.recall`), `http_server` (a port
 * and a route on the daemon's HTTP server), `broker.subscribe:<pattern>` and
 * `broker.publish:<pattern>` (topics beyond its channel kinds, among them
 * `plugin.tool.<name>`, which calls another plugin's tool through the host).
 */
export type Permission = string;

/** The permission kinds, for metrics labels and messages. */
export const PERMISSION_KINDS = ["llm", "memory", "http_server", "broker.subscribe", "broker.publish"] as const;
export type PermissionKind = (typeof PERMISSION_KINDS)[number];

/** `[plugin.requires] nexo_capabilities` entries that declare a host service. */
const SERVICE_CAPABILITIES: Record<string, "llm" | "memory"> = { llm: "llm", memory: "memory", long_term_memory: "memory" };

/** How one plugin's permissions are decided. */
export interface PermissionPlan {
  /** True: anything not granted is refused. False: every use is allowed as before, undeclared ones logged. */
  enforced: boolean;
  /** Where the grants came from: the operator's `plugins.<id>.grants`, or the manifest's declarations. */
  source: "operator" | "manifest";
  /** What the manifest asks for. */
  declared: Permission[];
  /** What the plugin may use (when enforced). */
  granted: Permission[];
}

/** The kind of a permission name (`broker.subscribe:x.>` -> `broker.subscribe`), or null for a name that is none. */
export function permissionKind(p: Permission): PermissionKind | null {
  const colon = p.indexOf(":");
  const kind = colon < 0 ? p : p.slice(0, colon);
  if (!(PERMISSION_KINDS as readonly string[]).includes(kind)) return null;
  const pattern = colon < 0 ? "" : p.slice(colon + 1);
  const needsPattern = kind === "broker.subscribe" || kind === "broker.publish";
  return needsPattern === pattern.length > 0 ? (kind as PermissionKind) : null;
}

/** What a manifest declares it will use beyond its channels. Pure. */
export function declaredPermissions(manifest: Pick<PluginManifest, "requires" | "httpServer" | "broker">): Permission[] {
  const out = new Set<Permission>();
  for (const c of manifest.requires.nexoCapabilities) {
    const s = ownProperty(SERVICE_CAPABILITIES, c);
    if (s) out.add(s);
  }
  if (manifest.httpServer) out.add("http_server");
  for (const p of manifest.broker.subscribe) out.add(`broker.subscribe:${p}`);
  for (const p of manifest.broker.publish) out.add(`broker.publish:${p}`);
  return [...out];
}

/**
 * Decide a plugin's permissions. Enforced when the operator sets
 * `permissions.enforce: true` or lists the plugin's `grants`; then the
 * plugin may use what it was granted (the operator's list, else what its
 * manifest declares) and nothing else. Not enforced (the default for a
 * config that says nothing): every use is allowed as it always was. Pure.
 */
export function planPermissions(
  manifest: Pick<PluginManifest, "requires" | "httpServer" | "broker">,
  operatorGrants: readonly string[] | undefined,
  enforce: boolean,
): PermissionPlan {
  const declared = declaredPermissions(manifest);
  if (operatorGrants !== undefined) return { enforced: true, source: "operator", declared, granted: [...new Set(operatorGrants)] };
  return { enforced: enforce, source: "manifest", declared, granted: declared };
}

/** True when `permission` is granted: listed, or for a broker pattern, covered by a granted pattern of the same kind. */
export function isGranted(plan: PermissionPlan, permission: Permission): boolean {
  if (!plan.enforced) return true;
  if (plan.granted.includes(permission)) return true;
  const kind = permissionKind(permission);
  if (kind !== "broker.subscribe" && kind !== "broker.publish") return false;
  const pattern = permission.slice(kind.length + 1);
  return plan.granted.some((g) => g.startsWith(`${kind}:`) && patternCovers(g.slice(kind.length + 1), pattern));
}

/** The manifest's extra broker patterns the plugin may actually use (all of them when not enforced). */
export function grantedBrokerPatterns(plan: PermissionPlan, declared: { subscribe: readonly string[]; publish: readonly string[] }): { subscribe: string[]; publish: string[] } {
  return {
    subscribe: declared.subscribe.filter((p) => isGranted(plan, `broker.subscribe:${p}`)),
    publish: declared.publish.filter((p) => isGranted(plan, `broker.publish:${p}`)),
  };
}

/** One line for logs and `nexo plugin status`, e.g. `enforced (operator): llm, broker.subscribe:a.>` or `not enforced; declared: memory`. */
export function describePermissions(plan: PermissionPlan): string {
  const list = (ps: readonly string[]): string => (ps.length ? ps.join(", ") : "none");
  return plan.enforced ? `enforced (${plan.source}): ${list(plan.granted)}` : `not enforced; declared: ${list(plan.declared)}`;
}

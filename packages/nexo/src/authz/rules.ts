import type { Principal } from "../app/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { compileGlob, compileGlobs, type NameMatcher } from "../util/index.js";
import { claimAt, claimList, isInternal } from "./principals.js";
import type { ActionKind, AuthorizationConfig, AuthorizationRuleConfig } from "./types.js";

/** Tests one principal (undefined: anonymous). */
type PrincipalMatcher = (p: Principal | undefined) => boolean;

/** A rule ready to evaluate. */
export interface CompiledRule {
  name: string;
  effect: "allow" | "deny";
  principal: PrincipalMatcher;
  /** Per action kind, the name test; absent: the rule says nothing about that kind. */
  names: Partial<Record<ActionKind, NameMatcher>>;
}

/** The whole configuration, checked and compiled. */
export interface CompiledAuthorization {
  defaultAllow: boolean;
  rules: CompiledRule[];
  rolesClaim: string;
  tenantClaim: string | undefined;
  audit: { enabled: boolean; deniedOnly: boolean; retentionDays: number };
}

const SELECTOR_KINDS = ["sub", "role", "scope", "api_key", "tenant", "binding", "poller", "schedule", "local"] as const;
const NAME = /^[A-Za-z0-9_.:*/-]{1,200}$/;
const ADMIN_APIS = ["audit"];

function configError(field: string, message: string): NexoError {
  return new NexoError(ErrorCodes.AUTHZ_CONFIG, `authorization.${field}: ${message}`, { field: `authorization.${field}` });
}

function stringList(v: unknown, field: string, check: (s: string) => boolean, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw configError(field, `must be a non-empty list of ${what}`);
  return v.map((s, i) => {
    if (typeof s !== "string" || !check(s)) throw configError(`${field}[${i}]`, `must be ${what}, got ${JSON.stringify(s)}`);
    return s;
  });
}

/** Compile one selector such as `role:admin` (docs/authorization.md, "Principals"). */
function compileSelector(sel: string, rolesClaim: string, tenantClaim: string | undefined, field: string): PrincipalMatcher {
  if (sel === "*") return () => true;
  if (sel === "anonymous") return (p) => p === undefined;
  if (sel === "authenticated") return (p) => p !== undefined && !isInternal(p);
  if (sel === "control_socket") return (p) => p?.strategy === "local" && p.id === "control_socket";
  const colon = sel.indexOf(":");
  const kind = sel.slice(0, colon) as (typeof SELECTOR_KINDS)[number];
  const value = sel.slice(colon + 1);
  if (colon < 1 || !SELECTOR_KINDS.includes(kind) || value.length === 0) {
    throw configError(
      field,
      `unknown principal selector ${JSON.stringify(sel)}; use one of sub:, role:, scope:, api_key:, tenant:, binding:, poller:, schedule:, local: followed by a name or pattern, or control_socket, anonymous, authenticated, *`,
    );
  }
  const m = compileGlob(value);
  switch (kind) {
    case "sub":
      return (p) => p !== undefined && !isInternal(p) && m(p.id);
    case "api_key":
      return (p) => p?.strategy === "api_key" && m(p.id);
    case "role":
      return (p) => p !== undefined && !isInternal(p) && claimList(p, rolesClaim).some(m);
    case "scope":
      return (p) => p !== undefined && !isInternal(p) && (claimList(p, "scope").some(m) || claimList(p, "scp").some(m));
    case "tenant":
      if (tenantClaim === undefined) throw configError(field, `the selector ${JSON.stringify(sel)} needs authorization.tenant_claim`);
      return (p) => {
        const t = p === undefined ? undefined : claimAt(p, tenantClaim);
        return typeof t === "string" && m(t);
      };
    default:
      return (p) => p?.strategy === kind && m(p.id);
  }
}

function compileRule(r: AuthorizationRuleConfig, i: number, rolesClaim: string, tenantClaim: string | undefined): CompiledRule {
  const field = `rules[${i}]`;
  if (r === null || typeof r !== "object" || Array.isArray(r)) throw configError(field, "must be an object with principals and workflows, tools or admin");
  for (const k of Object.keys(r)) {
    if (!["name", "principals", "workflows", "tools", "admin", "effect"].includes(k))
      throw configError(`${field}.${k}`, "is not a rule field (name, principals, workflows, tools, admin, effect)");
  }
  if (r.name !== undefined && (typeof r.name !== "string" || r.name.length === 0 || r.name.length > 64)) throw configError(`${field}.name`, "must be a string of 1-64 characters");
  if (r.effect !== undefined && r.effect !== "allow" && r.effect !== "deny") throw configError(`${field}.effect`, `must be allow or deny, got ${JSON.stringify(r.effect)}`);
  const selectors = stringList(r.principals, `${field}.principals`, (s) => s.length > 0 && s.length <= 200, "principal selectors");
  const tests = selectors.map((s, j) => compileSelector(s, rolesClaim, tenantClaim, `${field}.principals[${j}]`));
  const names: CompiledRule["names"] = {};
  if (r.workflows !== undefined) names.workflow = compileGlobs(stringList(r.workflows, `${field}.workflows`, (s) => NAME.test(s), "workflow names or patterns"));
  if (r.tools !== undefined) names.tool = compileGlobs(stringList(r.tools, `${field}.tools`, (s) => NAME.test(s), "tool names or patterns"));
  if (r.admin !== undefined)
    names.admin = compileGlobs(stringList(r.admin, `${field}.admin`, (s) => ADMIN_APIS.includes(s) || s === "*", `admin API names (${ADMIN_APIS.join(", ")})`));
  if (Object.keys(names).length === 0) throw configError(field, "names nothing to grant or deny: give workflows, tools or admin");
  return { name: r.name ?? `rule ${i}`, effect: r.effect ?? "allow", principal: tests.length === 1 ? tests[0]! : (p) => tests.some((t) => t(p)), names };
}

/** Check and compile `authorization:`; a mistake throws NEXO_ERR_AUTHZ_CONFIG naming the field. */
export function compileAuthorization(config: AuthorizationConfig): CompiledAuthorization {
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw configError("", "must be an object");
  for (const k of Object.keys(config)) {
    if (!["default", "rules", "roles_claim", "tenant_claim", "audit"].includes(k))
      throw configError(k, "is not an authorization field (default, rules, roles_claim, tenant_claim, audit)");
  }
  if (config.default !== undefined && config.default !== "allow" && config.default !== "deny")
    throw configError("default", `must be allow or deny, got ${JSON.stringify(config.default)}`);
  const claim = (v: unknown, field: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/.test(v)) throw configError(field, `must be a claim name or dotted path, got ${JSON.stringify(v)}`);
    return v;
  };
  const rolesClaim = claim(config.roles_claim, "roles_claim") ?? "roles";
  const tenantClaim = claim(config.tenant_claim, "tenant_claim");
  const rules = config.rules ?? [];
  if (!Array.isArray(rules)) throw configError("rules", "must be a list of rules");
  const audit = config.audit ?? {};
  if (audit === null || typeof audit !== "object") throw configError("audit", "must be an object");
  for (const k of Object.keys(audit))
    if (!["enabled", "decisions", "retention_days"].includes(k)) throw configError(`audit.${k}`, "is not an audit field (enabled, decisions, retention_days)");
  if (audit.enabled !== undefined && typeof audit.enabled !== "boolean") throw configError("audit.enabled", "must be true or false");
  if (audit.decisions !== undefined && audit.decisions !== "all" && audit.decisions !== "denied") throw configError("audit.decisions", "must be all or denied");
  const days = audit.retention_days ?? 30;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw configError("audit.retention_days", `must be a whole number of days from 1 to 3650, got ${JSON.stringify(days)}`);
  return {
    defaultAllow: config.default === "allow",
    rules: rules.map((r, i) => compileRule(r, i, rolesClaim, tenantClaim)),
    rolesClaim,
    tenantClaim,
    audit: { enabled: audit.enabled ?? true, deniedOnly: audit.decisions === "denied", retentionDays: days },
  };
}

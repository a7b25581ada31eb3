import type { Principal } from "../app/index.js";

/** What a caller asks to do: run a workflow, call a plugin tool, or use an admin API (`audit`). */
export type ActionKind = "workflow" | "tool" | "admin";

/** One request to the gate. */
export interface AuthorizationRequest {
  /** The caller; undefined when no authenticator ran (the `anonymous` principal). */
  principal: Principal | undefined;
  kind: ActionKind;
  /** Workflow name, tool name, or admin API name. */
  name: string;
  /** The surface the call came through: `http`, `mcp`, `cli`, a binding's channel, `poller`, `schedule`... */
  surface: string;
}

/** The gate's answer. `rule` is the index of the rule that decided, or -1 for the default. */
export interface AuthorizationDecision {
  allowed: boolean;
  rule: number;
  /** The deciding rule's name (or `default`), for logs and the audit trail. */
  ruleName: string;
}

/** One rule of `authorization.rules` in nexo.yaml (docs/authorization.md). */
export interface AuthorizationRuleConfig {
  /** Shown in audit entries and errors. Default `rule <index>`. */
  name?: string;
  /** Who the rule is about, as selectors: `sub:alice`, `role:admin`, `scope:workflows.run`, `api_key:ci-*`, `tenant:acme`, `binding:support`, `poller:*`, `schedule:*`, `local:mcp_stdio`, `control_socket`, `anonymous`, `authenticated`, `*`. */
  principals: string[];
  /** Workflow name patterns (`*` matches any run of characters). */
  workflows?: string[];
  /** Plugin tool name patterns. */
  tools?: string[];
  /** Admin APIs: `audit`. */
  admin?: string[];
  /** `allow` (default) or `deny`; a matching deny wins over any allow. */
  effect?: "allow" | "deny";
}

/** `authorization:` in nexo.yaml, or `new Nexo({ authorization })`. */
export interface AuthorizationConfig {
  /** What happens when no rule matches: `deny` (default) or `allow`. */
  default?: "allow" | "deny";
  rules?: AuthorizationRuleConfig[];
  /** Claim holding the principal's roles (a dotted path, e.g. `realm_access.roles`). Default `roles`. */
  roles_claim?: string;
  /** Claim holding a tenant id: runs, cached results and audit entries are kept apart per tenant. */
  tenant_claim?: string;
  audit?: {
    /** Write decisions to the store. Default true. */
    enabled?: boolean;
    /** `all` decisions (default) or only `denied` ones. */
    decisions?: "all" | "denied";
    /** Entries older than this are deleted. Default 30. */
    retention_days?: number;
  };
}

/** One row of the audit trail, as `GET /audit` and `nexo audit` return it. */
export interface AuditEntry {
  id: number;
  /** ISO 8601 time of the decision. */
  at: string;
  principal: string;
  strategy: string | null;
  tenant: string | null;
  surface: string;
  kind: ActionKind;
  name: string;
  allowed: boolean;
  rule: string;
}

/** Filters of an audit query; every field optional. */
export interface AuditQuery {
  principal?: string;
  tenant?: string;
  kind?: ActionKind;
  name?: string;
  allowed?: boolean;
  /** ISO time or epoch ms: entries at or after. */
  since?: string | number;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
  /** Entries with an id below this (paging backwards). */
  before?: number;
}

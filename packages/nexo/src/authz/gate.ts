import type { Principal } from "../app/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { AuditLog, AuditSubject } from "./audit-log.js";
import { claimAt, principalLabel } from "./principals.js";
import type { CompiledAuthorization } from "./rules.js";
import type { ActionKind, AuthorizationDecision, AuthorizationRequest } from "./types.js";
import { ownProperty } from "../util/index.js";

const DEFAULT_ALLOW: AuthorizationDecision = Object.freeze({ allowed: true, rule: -1, ruleName: "default" });
const DEFAULT_DENY: AuthorizationDecision = Object.freeze({ allowed: false, rule: -1, ruleName: "default" });
/** Decisions kept per shared principal and action kind (API keys and the daemon's own callers are frozen and reused). */
const CACHE_PER_PRINCIPAL = 256;

/** A remembered decision and, per surface, the audit subject of its decisions. */
interface Memo {
  decision: AuthorizationDecision;
  subjects: Map<string, AuditSubject> | undefined;
}

/** One principal's remembered decisions, by action kind and name. */
type MemoTable = Record<ActionKind, Map<string, Memo>>;

function newMemoTable(): MemoTable {
  return { workflow: new Map(), tool: new Map(), admin: new Map() };
}

/**
 * The one place that decides whether a principal may run a workflow, call a
 * plugin tool or read the audit trail, whichever surface the call came
 * through (docs/authorization.md). A matching `deny` rule wins, then any
 * matching `allow`, then the default. Every decision is counted and, when
 * auditing is on, queued for the audit trail; a refusal is logged once per
 * principal and action.
 */
export class AuthorizationGate {
  private readonly cache = new WeakMap<Principal, MemoTable>();
  private readonly anonymous: MemoTable = newMemoTable();
  private readonly loggedDenials = new Set<string>();
  /** Decisions so far. */
  readonly counts = { allowed: 0, denied: 0 };

  constructor(
    private readonly config: CompiledAuthorization,
    private readonly logger: Logger,
    /** Where decisions are recorded; undefined when auditing is off. */
    readonly audit: AuditLog | undefined,
  ) {}

  /** The decision alone: no counting, no audit, no error. */
  decide(principal: Principal | undefined, kind: ActionKind, name: string): AuthorizationDecision {
    return this.memo(principal, kind, name)?.decision ?? this.evaluate(principal, kind, name);
  }

  /**
   * The remembered decision for a shared (frozen) principal, made on first use;
   * undefined for a principal made per request (a verified JWT), whose
   * decisions are evaluated each time.
   */
  private memo(principal: Principal | undefined, kind: ActionKind, name: string): Memo | undefined {
    let table: MemoTable | undefined;
    if (principal === undefined) table = this.anonymous;
    else if (Object.isFrozen(principal)) {
      table = this.cache.get(principal);
      if (table === undefined) this.cache.set(principal, (table = newMemoTable()));
    } else return undefined;
    // By kind, then name: no key string is built per call.
    const byName = ownProperty(table, kind);
    // A kind outside ActionKind (a plugin in plain JavaScript) is decided, never remembered.
    if (byName === undefined) return undefined;
    let m = byName.get(name);
    if (m === undefined) {
      if (byName.size >= CACHE_PER_PRINCIPAL) byName.clear();
      byName.set(name, (m = { decision: this.evaluate(principal, kind, name), subjects: undefined }));
    }
    return m;
  }

  private evaluate(principal: Principal | undefined, kind: ActionKind, name: string): AuthorizationDecision {
    let allow: AuthorizationDecision | undefined;
    const rules = this.config.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      // A kind from plain JavaScript such as "toString" must not read Object.prototype.
      const names = ownProperty(r.names, kind);
      if (names === undefined || !names(name) || !r.principal(principal)) continue;
      if (r.effect === "deny") return { allowed: false, rule: i, ruleName: r.name };
      allow ??= { allowed: true, rule: i, ruleName: r.name };
    }
    return allow ?? (this.config.defaultAllow ? DEFAULT_ALLOW : DEFAULT_DENY);
  }

  /**
   * Decide, count, audit; throw NEXO_ERR_AUTHZ_FORBIDDEN (HTTP 403) when refused.
   * The error names the principal and the action, never a token or a claim value.
   */
  authorize(req: AuthorizationRequest): void {
    const { principal, kind, name, surface } = req;
    const m = this.memo(principal, kind, name);
    const d = m?.decision ?? this.evaluate(principal, kind, name);
    if (d.allowed) this.counts.allowed++;
    else this.counts.denied++;
    const audit = this.audit;
    if (audit !== undefined && (!d.allowed || !this.config.audit.deniedOnly)) {
      // A shared principal's subject is made once per action and surface: recording allocates nothing.
      let subject = m?.subjects?.get(surface);
      if (subject === undefined) {
        subject = audit.subject({
          principal: principal?.id ?? "anonymous",
          strategy: principal?.strategy ?? null,
          tenant: this.tenantOf(principal),
          surface,
          kind,
          name,
          allowed: d.allowed,
          rule: d.ruleName,
        });
        if (m !== undefined) (m.subjects ??= new Map()).set(surface, subject);
      }
      audit.recordSubject(subject, Date.now());
    }
    if (d.allowed) return;
    const who = principalLabel(principal);
    const logKey = `${who}\0${kind}\0${name}`;
    if (!this.loggedDenials.has(logKey)) {
      if (this.loggedDenials.size >= 10_000) this.loggedDenials.clear();
      this.loggedDenials.add(logKey);
      this.logger.info(
        { principal: who, kind, name, surface, rule: d.ruleName },
        `authorization refused ${who} ${kind} "${name}" (${d.ruleName}); later refusals of the same are counted, not logged`,
      );
    }
    throw new NexoError(
      ErrorCodes.AUTHZ_FORBIDDEN,
      `${who} may not ${kind === "workflow" ? "run workflow" : kind === "tool" ? "call tool" : "use"} "${name}": ${d.rule === -1 ? "no authorization rule grants it" : `refused by rule "${d.ruleName}"`}`,
      {
        data: { principal: who, kind, name, rule: d.ruleName },
      },
    );
  }

  /** The principal's tenant (from `tenant_claim`), or null. */
  tenantOf(principal: Principal | undefined): string | null {
    const claim = this.config.tenantClaim;
    if (claim === undefined || principal === undefined) return null;
    const t = claimAt(principal, claim);
    return typeof t === "string" && t.length > 0 ? t : null;
  }
}

export { AuditLog } from "./audit-log.js";
export { AuthorizationGate } from "./gate.js";
export { parseAuditQuery } from "./audit-query.js";
export { compileAuthorization } from "./rules.js";
export { internalPrincipal, principalLabel } from "./principals.js";
export type { AuditLogOptions, AuditSubject, PendingAuditEntry } from "./audit-log.js";
export type { CompiledAuthorization } from "./rules.js";
export type { ActionKind, AuditEntry, AuditQuery, AuthorizationConfig, AuthorizationDecision, AuthorizationRequest, AuthorizationRuleConfig } from "./types.js";

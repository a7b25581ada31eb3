import assert from "node:assert/strict";
import { test } from "node:test";
import type { Principal } from "../../src/app/types.js";
import { join } from "node:path";
import { AuditLog, AuthorizationGate, compileAuthorization, internalPrincipal, type AuthorizationConfig } from "../../src/authz/index.js";
import { ErrorCodes, NexoError } from "../../src/errors.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";

function gate(config: AuthorizationConfig): { gate: AuthorizationGate; logs: () => Array<Record<string, any>> } {
  const cap = captureLogger();
  return { gate: new AuthorizationGate(compileAuthorization(config), cap.logger, undefined), logs: cap.lines };
}

const alice: Principal = { id: "alice", strategy: "jwt", claims: { roles: ["analyst"], scope: "reports.read workflows.run", org: "acme" } };
const bob: Principal = { id: "bob", strategy: "oauth2", claims: { realm_access: { roles: ["admin"] }, scp: ["tools.call"], org: "globex" } };
const ci: Principal = Object.freeze({ id: "ci-deploy", strategy: "api_key" });

test("authz gate - selectors match by subject, role, scope, api key, tenant and the daemon's own callers, never across strategies", () => {
  const allow = (principals: string[], extra: Partial<AuthorizationConfig> = {}): AuthorizationGate => gate({ ...extra, rules: [{ principals, workflows: ["*"] }] }).gate;
  const may = (g: AuthorizationGate, p: Principal | undefined): boolean => g.decide(p, "workflow", "w").allowed;
  assert.equal(may(allow(["sub:alice"]), alice), true);
  assert.equal(may(allow(["sub:alice"]), bob), false);
  assert.equal(may(allow(["sub:ci-*"]), ci), true, "sub: matches an API key's id too");
  assert.equal(may(allow(["api_key:ci-*"]), ci), true);
  assert.equal(may(allow(["api_key:ci-*"]), { id: "ci-deploy", strategy: "jwt" }), false, "a token whose subject looks like a key id is not that key");
  assert.equal(may(allow(["role:analyst"]), alice), true);
  assert.equal(may(allow(["role:admin"]), bob), false, "roles are read from `roles` by default");
  assert.equal(may(allow(["role:admin"], { roles_claim: "realm_access.roles" }), bob), true);
  assert.equal(may(allow(["scope:workflows.run"]), alice), true, "a space-separated scope string");
  assert.equal(may(allow(["scope:tools.*"]), bob), true, "an scp array");
  assert.equal(may(allow(["tenant:acme"], { tenant_claim: "org" }), alice), true);
  assert.equal(may(allow(["tenant:acme"], { tenant_claim: "org" }), bob), false);
  assert.equal(may(allow(["anonymous"]), undefined), true);
  assert.equal(may(allow(["anonymous"]), alice), false);
  assert.equal(may(allow(["authenticated"]), alice), true);
  assert.equal(may(allow(["authenticated"]), undefined), false);
  assert.equal(may(allow(["authenticated"]), internalPrincipal("binding", "support")), false, "the daemon's own callers are not `authenticated`");
  assert.equal(may(allow(["binding:support"]), internalPrincipal("binding", "support")), true);
  assert.equal(may(allow(["binding:support"]), { id: "support", strategy: "jwt" }), false, "a token cannot pose as a binding");
  assert.equal(may(allow(["sub:support"]), internalPrincipal("binding", "support")), false, "sub: never matches the daemon's own callers");
  assert.equal(may(allow(["control_socket"]), internalPrincipal("local", "control_socket")), true);
  assert.equal(may(allow(["control_socket"]), internalPrincipal("local", "mcp_stdio")), false);
  assert.equal(may(allow(["local:*"]), internalPrincipal("local", "mcp_stdio")), true);
  assert.equal(may(allow(["poller:feed-*"]), internalPrincipal("poller", "feed-hn")), true);
  assert.equal(may(allow(["*"]), undefined), true);
});

test("authz gate - a matching deny wins over any allow; no match falls to the default; kinds are separate", () => {
  const { gate: g } = gate({
    rules: [
      { name: "analysts", principals: ["role:analyst"], workflows: ["report_*", "export"], tools: ["search_*"] },
      { name: "no-export-for-acme", principals: ["tenant:acme"], workflows: ["export"], effect: "deny" },
    ],
    tenant_claim: "org",
  });
  assert.deepEqual(g.decide(alice, "workflow", "report_daily"), { allowed: true, rule: 0, ruleName: "analysts" });
  assert.deepEqual(g.decide(alice, "workflow", "export"), { allowed: false, rule: 1, ruleName: "no-export-for-acme" });
  assert.deepEqual(g.decide(alice, "workflow", "search_web"), { allowed: false, rule: -1, ruleName: "default" }, "a tools grant is not a workflows grant");
  assert.equal(g.decide(alice, "tool", "search_web").allowed, true);
  assert.equal(g.decide(alice, "admin", "audit").allowed, false);
  const open = gate({ default: "allow", rules: [{ principals: ["anonymous"], workflows: ["admin_*"], effect: "deny" }] }).gate;
  assert.equal(open.decide(undefined, "workflow", "hello").allowed, true);
  assert.equal(open.decide(undefined, "workflow", "admin_wipe").allowed, false);
  assert.equal(open.tenantOf(alice), null, "no tenant without tenant_claim");
  assert.equal(g.tenantOf(alice), "acme");
});

test("authz gate - a shared principal's remembered decisions stay apart by kind, and a kind from plain JavaScript is decided without being remembered", () => {
  const { gate: g } = gate({ rules: [{ principals: ["api_key:ci-*"], workflows: ["deploy"], tools: ["status"] }] });
  for (let round = 0; round < 2; round++) {
    // The second round reads what the first remembered.
    assert.equal(g.decide(ci, "workflow", "deploy").allowed, true);
    assert.equal(g.decide(ci, "tool", "deploy").allowed, false, "a workflow grant is not a tool grant, remembered or not");
    assert.equal(g.decide(ci, "tool", "status").allowed, true);
    assert.equal(g.decide(ci, "workflow", "status").allowed, false);
    assert.equal(g.decide(ci, "admin", "deploy").allowed, false);
    for (const kind of ["toString", "__proto__", "constructor", "other"]) {
      assert.deepEqual(g.decide(ci, kind as "workflow", "deploy"), { allowed: false, rule: -1, ruleName: "default" }, `kind ${kind}`);
    }
  }
});

test("authz gate - authorize counts, throws 403 NEXO_ERR_AUTHZ_FORBIDDEN naming principal and action, and logs one line per principal and action", () => {
  const { gate: g, logs } = gate({ rules: [{ principals: ["api_key:ci-*"], workflows: ["deploy"] }] });
  g.authorize({ principal: ci, kind: "workflow", name: "deploy", surface: "http" });
  for (let i = 0; i < 5; i++) {
    assert.throws(
      () => g.authorize({ principal: ci, kind: "workflow", name: "wipe", surface: "http" }),
      (err: unknown) =>
        err instanceof NexoError && err.code === ErrorCodes.AUTHZ_FORBIDDEN && err.httpStatus === 403 && /api_key:ci-deploy may not run workflow "wipe"/.test(err.message),
    );
  }
  assert.deepEqual(g.counts, { allowed: 1, denied: 5 });
  assert.equal(logs().filter((l) => /authorization refused/.test(l.msg)).length, 1);
  // Decisions for a shared (frozen) principal are memoized: the same object back.
  assert.equal(g.decide(ci, "workflow", "deploy"), g.decide(ci, "workflow", "deploy"));
});

test("authz config - every mistake names its field", () => {
  const bad = (config: unknown, field: RegExp): void =>
    assert.throws(
      () => compileAuthorization(config as AuthorizationConfig),
      (err: unknown) => err instanceof NexoError && err.code === ErrorCodes.AUTHZ_CONFIG && field.test(err.message),
    );
  bad({ rules: [{ principals: ["group:x"], workflows: ["*"] }] }, /rules\[0\]\.principals\[0\].*unknown principal selector/);
  bad({ rules: [{ principals: ["role:x"] }] }, /rules\[0\]: names nothing/);
  bad({ rules: [{ principals: [], workflows: ["*"] }] }, /rules\[0\]\.principals: must be a non-empty list/);
  bad({ rules: [{ principals: ["tenant:a"], workflows: ["*"] }] }, /needs authorization\.tenant_claim/);
  bad({ rules: [{ principals: ["*"], admin: ["shutdown"] }] }, /rules\[0\]\.admin\[0\]/);
  bad({ rules: [{ principals: ["*"], workflows: ["a b"] }] }, /rules\[0\]\.workflows\[0\]/);
  bad({ default: "maybe" }, /authorization\.default/);
  bad({ audit: { retention_days: 0 } }, /audit\.retention_days/);
  bad({ rulez: [] }, /authorization\.rulez: is not an authorization field/);
  assert.equal(compileAuthorization({}).defaultAllow, false, "deny by default once authorization is configured");
});

test("authz gate - audited decisions keep their surface, outcome, rule and tenant, for shared and per-request principals alike", async (t) => {
  const audit = new AuditLog(`sqlite:${join(tempDir(t), "audit.db")}`, captureLogger().logger, { retentionDays: 7 });
  t.after(() => audit.close());
  const config = compileAuthorization({
    tenant_claim: "org",
    rules: [
      { name: "ci deploys", principals: ["api_key:ci-*"], workflows: ["deploy"] },
      { principals: ["sub:alice"], workflows: ["report"] },
    ],
  });
  const g = new AuthorizationGate(config, captureLogger().logger, audit);
  const calls: Array<[Principal, string, string]> = [
    [ci, "deploy", "http"],
    [ci, "deploy", "mcp"],
    [ci, "deploy", "http"],
    [ci, "wipe", "http"],
    [{ ...alice }, "report", "cli"],
    [{ ...alice }, "report", "cli"],
  ];
  for (const [principal, name, surface] of calls) {
    try {
      g.authorize({ principal, kind: "workflow", name, surface });
    } catch (err) {
      assert.ok(err instanceof NexoError && err.code === ErrorCodes.AUTHZ_FORBIDDEN);
    }
  }
  const entries = (await audit.query({})).reverse();
  assert.deepEqual(
    entries.map((e) => [e.principal, e.strategy, e.tenant, e.surface, e.name, e.allowed, e.rule]),
    [
      ["ci-deploy", "api_key", null, "http", "deploy", true, "ci deploys"],
      ["ci-deploy", "api_key", null, "mcp", "deploy", true, "ci deploys"],
      ["ci-deploy", "api_key", null, "http", "deploy", true, "ci deploys"],
      ["ci-deploy", "api_key", null, "http", "wipe", false, "default"],
      ["alice", "jwt", "acme", "cli", "report", true, "rule 1"],
      ["alice", "jwt", "acme", "cli", "report", true, "rule 1"],
    ],
  );
});

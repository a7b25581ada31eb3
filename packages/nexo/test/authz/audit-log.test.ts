import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AuditLog, type PendingAuditEntry } from "../../src/authz/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { storeDialects } from "../helpers/stores.js";

const DIALECTS = storeDialects();

const entry = (over: Partial<PendingAuditEntry>): PendingAuditEntry => ({
  at: Date.now(),
  principal: "alice",
  strategy: "jwt",
  tenant: null,
  surface: "http",
  kind: "workflow",
  name: "greet",
  allowed: true,
  rule: "r",
  ...over,
});

for (const [dialect, open] of DIALECTS) {
  test(`audit log - ${dialect}: batched writes, filtered newest-first queries with paging, retention`, async (t) => {
    const store = await open(t);
    if (!store) return;
    const log = new AuditLog(store, captureLogger().logger, { retentionDays: 7 });
    t.after(() => log.close());
    // More than one batch (200) queued at once.
    for (let i = 0; i < 450; i++) log.record(entry({ name: `w${i}`, allowed: i % 3 !== 0, tenant: i % 2 ? "acme" : null }));
    await log.flush();
    // After the first open (which prunes once): an entry already past retention.
    log.record(entry({ at: Date.now() - 8 * 86_400_000, name: "ancient" }));
    log.record(entry({ principal: "bob", strategy: "api_key", kind: "tool", name: "calc_echo", allowed: false, rule: "default" }));
    const newest = await log.query({ limit: 3 });
    assert.deepEqual(
      newest.map((e) => e.name),
      ["calc_echo", "ancient", "w449"],
    );
    assert.deepEqual(newest[0], { ...newest[0]!, principal: "bob", strategy: "api_key", kind: "tool", allowed: false, rule: "default", tenant: null, surface: "http" });
    assert.match(newest[0]!.at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(log.written, 452);
    const denied = await log.query({ allowed: false, principal: "alice", limit: 1000 });
    assert.equal(denied.length, 150);
    assert.equal((await log.query({ tenant: "acme", limit: 1000 })).length, 225);
    assert.equal((await log.query({ name: "ancient" })).length, 1);
    const page2 = await log.query({ before: newest[2]!.id, limit: 2 });
    assert.deepEqual(
      page2.map((e) => e.name),
      ["w448", "w447"],
    );
    assert.equal((await log.query({ since: Date.now() - 86_400_000, name: "ancient" })).length, 0);
    assert.equal(await log.prune(), 1, "only the entry past the 7-day retention");
    assert.equal((await log.query({ name: "ancient" })).length, 0);
  });
}

test("audit log - a store that cannot be opened drops entries, counts them and says so in the log; nothing is silently lost", async (t) => {
  const cap = captureLogger();
  const blocker = join(tempDir(t), "a-file");
  writeFileSync(blocker, "not a directory");
  const log = new AuditLog(`sqlite:${join(blocker, "audit.db")}`, cap.logger, { retentionDays: 1, maxPending: 5, flushMs: 1 });
  t.after(() => log.close());
  for (let i = 0; i < 8; i++) log.record(entry({ name: `w${i}` }));
  await log.flush();
  assert.equal(log.dropped, 8, "3 past the queue bound, 5 whose write failed");
  assert.equal(log.written, 0);
  assert.ok(cap.lines().some((l) => /audit entries dropped/.test(l.msg)));
});

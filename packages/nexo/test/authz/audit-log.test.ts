import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AuditLog, type PendingAuditEntry } from "../../src/authz/index.js";
import { AUDIT_MIGRATIONS } from "../../src/authz/migrations.js";
import { tempDir } from "../helpers/fixture-plugins.js";
import { captureLogger } from "../helpers/log-capture.js";
import { createStore, type SqlValue } from "../../src/store/index.js";
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
    // Written first, as an old entry is: past the retention when pruned below (the first open
    // prunes before any write, so it is still there until then).
    log.record(entry({ at: Date.now() - 8 * 86_400_000, name: "ancient" }));
    // More than one batch (1000) queued at once.
    for (let i = 0; i < 1050; i++) log.record(entry({ name: `w${i}`, allowed: i % 3 !== 0, tenant: i % 2 ? "acme" : null }));
    await log.flush();
    log.record(entry({ principal: "bob", strategy: "api_key", kind: "tool", name: "calc_echo", allowed: false, rule: "default" }));
    const newest = await log.query({ limit: 3 });
    assert.deepEqual(
      newest.map((e) => e.name),
      ["calc_echo", "w1049", "w1048"],
    );
    assert.deepEqual(newest[0], { ...newest[0]!, principal: "bob", strategy: "api_key", kind: "tool", allowed: false, rule: "default", tenant: null, surface: "http" });
    assert.match(newest[0]!.at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(log.written, 1052);
    const denied = await log.query({ allowed: false, principal: "alice", limit: 1000 });
    assert.equal(denied.length, 350);
    assert.equal((await log.query({ tenant: "acme", limit: 1000 })).length, 525);
    assert.equal((await log.query({ name: "ancient" })).length, 1);
    const page2 = await log.query({ before: newest[2]!.id, limit: 2 });
    assert.deepEqual(
      page2.map((e) => e.name),
      ["w1047", "w1046"],
    );
    assert.equal((await log.query({ since: Date.now() - 86_400_000, name: "ancient" })).length, 0);
    assert.equal(await log.prune(), 1, "only the entry past the 7-day retention");
    assert.equal((await log.query({ name: "ancient" })).length, 0);
    // Written out of time order (the clock set back): kept until the entries before it expire too.
    log.record(entry({ at: Date.now() - 9 * 86_400_000, name: "late" }));
    await log.flush();
    assert.equal(await log.prune(), 0);
    assert.equal(await log.prune(Date.now() + 8 * 86_400_000), 1052, "once every entry before it has expired");
    assert.deepEqual(await log.query({}), []);
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

for (const [dialect, open] of DIALECTS) {
  test(`audit log - ${dialect}: a trail written before subjects were stored apart keeps every entry, its id and its nulls; new ids follow`, async (t) => {
    const store = await open(t);
    if (!store) return;
    await store.migrate("audit", AUDIT_MIGRATIONS.slice(0, 1));
    const cols = "at, principal, strategy, tenant, surface, kind, name, allowed, rule";
    await store.exec(`INSERT INTO nexo_audit (${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      ...[1_000, "alice", "jwt", "acme", "http", "workflow", "greet", 1, "r"],
      ...[2_000, "anonymous", null, null, "mcp", "tool", "calc_echo", 0, "default"],
      ...[3_000, "alice", "jwt", "acme", "http", "workflow", "greet", 1, "r"],
    ]);
    const before = await store.query(`SELECT id, ${cols} FROM nexo_audit ORDER BY id`);
    const log = new AuditLog(store, captureLogger().logger, { retentionDays: 365_000 });
    t.after(() => log.close());
    log.record(entry({ name: "after" }));
    const all = await log.query({ limit: 10 });
    assert.deepEqual(
      all.map((e) => e.name),
      ["after", "greet", "calc_echo", "greet"],
    );
    assert.deepEqual(
      all.slice(1).map((e) => [e.id, Date.parse(e.at), e.principal, e.strategy, e.tenant, e.surface, e.kind, e.name, e.allowed, e.rule]),
      before.reverse().map((r) => [Number(r.id), Number(r.at), r.principal, r.strategy, r.tenant, r.surface, r.kind, r.name, Number(r.allowed) === 1, r.rule]),
    );
    assert.ok(all[0]!.id > all[1]!.id, "the first new entry's id follows the migrated ones");
    assert.equal(Number((await store.query("SELECT COUNT(*) AS n FROM nexo_audit_subjects"))[0]!.n), 3, "two old subjects and the new one");
  });

  test(`audit log - ${dialect}: each distinct subject is stored once, also when two daemons write the same one`, async (t) => {
    const store = await open(t);
    if (!store) return;
    const a = new AuditLog(store, captureLogger().logger, { retentionDays: 7 });
    const b = new AuditLog(store, captureLogger().logger, { retentionDays: 7 });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const shared = a.subject(entry({}));
    for (let i = 0; i < 500; i++) a.recordSubject(shared, Date.now());
    for (let i = 0; i < 300; i++) b.record(entry({ surface: i % 2 ? "http" : "mcp" }));
    await Promise.all([a.flush(), b.flush()]);
    assert.equal(a.written + b.written, 800);
    const subjects = await store.query("SELECT surface, COUNT(*) AS n FROM nexo_audit_subjects GROUP BY surface ORDER BY surface");
    assert.deepEqual(
      subjects.map((r) => [r.surface, Number(r.n)]),
      [
        ["http", 1],
        ["mcp", 1],
      ],
    );
    assert.equal((await a.query({ limit: 1000 })).filter((e) => e.surface === "http").length, 650);
    assert.equal(a.subject(entry({})), shared, "the same fields give the same subject");
  });
}

test("audit log - pruning a backlog larger than one delete slice removes all of it and keeps what has not expired", async (t) => {
  const log = new AuditLog(`sqlite:${join(tempDir(t), "audit.db")}`, captureLogger().logger, { retentionDays: 1, maxPending: 30_000 });
  t.after(() => log.close());
  const old = Date.now() - 2 * 86_400_000;
  const subject = log.subject(entry({}));
  for (let i = 0; i < 25_000; i++) log.recordSubject(subject, old + i);
  log.record(entry({ name: "fresh" }));
  await log.flush();
  assert.equal(await log.prune(), 25_000);
  assert.deepEqual(
    (await log.query({})).map((e) => e.name),
    ["fresh"],
  );
});

test("audit log - pruning never deletes an entry that has not expired, even one that shows up below the cut while pruning (a shared store's ids are not in commit order)", async (t) => {
  const store = await createStore(`sqlite:${join(tempDir(t), "audit.db")}`);
  t.after(() => store.close());
  // Another daemon's entry commits, with a lower id, right after the pruning looked for the first unexpired one.
  let raced = false;
  const racing = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== "query") return Reflect.get(target, prop, receiver);
      return async (sql: string, params?: SqlValue[]) => {
        const rows = await target.query(sql, params);
        if (!raced && sql.startsWith("SELECT id FROM nexo_audit_decisions WHERE at >=")) {
          raced = true;
          const subject = (await target.query("SELECT MIN(id) AS id FROM nexo_audit_subjects"))[0]!.id as number;
          await target.exec("INSERT INTO nexo_audit_decisions (id, at, subject) VALUES (?, ?, ?)", [-1, Date.now(), subject]);
        }
        return rows;
      };
    },
  });
  const log = new AuditLog(racing, captureLogger().logger, { retentionDays: 1 });
  t.after(() => log.close());
  const subject = log.subject(entry({}));
  for (let i = 0; i < 3; i++) log.recordSubject(subject, Date.now() - 2 * 86_400_000);
  await log.flush();
  raced = false;
  assert.equal(await log.prune(), 3);
  assert.ok(raced);
  assert.deepEqual(
    (await log.query({})).map((e) => e.id),
    [-1],
  );
});

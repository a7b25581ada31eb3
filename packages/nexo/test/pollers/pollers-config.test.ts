import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig, normalizeConfig } from "../../src/config/index.js";
import { ErrorCodes, isNexoError, violationLine, type Violation } from "../../src/errors.js";
import { normalizePollersConfig } from "../../src/pollers/index.js";
import { checkKindConfig } from "../../src/pollers/kinds/feed-options.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const job = (extra: Record<string, unknown> = {}) => ({ id: "news", kind: "rss", schedule: { every_secs: 60 }, config: { url: "https://example.test/feed" }, ...extra });

/** The violations `fn` is refused with, as `{ path, message }`, and as the lines the error message shows. */
function refusal(fn: () => unknown): { violations: Violation[]; lines: string[] } {
  try {
    fn();
  } catch (err) {
    assert.ok(isNexoError(err, ErrorCodes.CONFIG_INVALID), String(err));
    const violations = err.details.data?.violations ?? [];
    const lines = violations.map(violationLine);
    for (const line of lines) assert.ok(err.message.includes(line), `the message shows ${line}`);
    return { violations, lines };
  }
  assert.fail("expected NEXO_ERR_CONFIG_INVALID");
}

test("pollers config - defaults: enabled, daemon store, 1 s jitter, breaker 5, default topic per job", () => {
  const c = normalizePollersConfig({ jobs: [job()] }, null, "/base");
  assert.equal(c.enabled, true);
  assert.equal(c.stateDb, null);
  assert.equal(c.defaultJitterMs, 1000);
  assert.equal(c.breakerThreshold, 5);
  assert.equal(c.leaseTtlSecs, 30);
  assert.equal(c.maxConcurrency, 16);
  assert.equal(c.allowPrivateNetworks, false);
  assert.deepEqual(c.jobs[0], {
    id: "news",
    kind: "rss",
    topic: "plugin.inbound.poller.news",
    schedule: { everySecs: 60 },
    config: { url: "https://example.test/feed" },
    pausedOnBoot: false,
    timeoutSecs: 30,
    allowPrivateNetworks: false,
  });
});

test("pollers config - state_db: a bare or relative path is a SQLite file beside the config; URLs pass through", () => {
  assert.equal(normalizePollersConfig({ state_db: "./data/poller.db" }, null, "/etc/nexo").stateDb, "sqlite:/etc/nexo/data/poller.db");
  assert.equal(normalizePollersConfig({ state_db: "sqlite:/var/x.db" }, null, "/etc/nexo").stateDb, "sqlite:/var/x.db");
  assert.equal(normalizePollersConfig({ state_db: "postgres://u:p@db/nexo" }, null, "/etc/nexo").stateDb, "postgres://u:p@db/nexo");
});

test("pollers config - every violation is reported with its path: unknown keys, kinds, schedules, cron, tz, duplicate ids, topics", () => {
  const { violations: raw, lines: v } = refusal(() =>
    normalizePollersConfig(
      {
        breaker_treshold: 3,
        jobs: [job({ kind: "gmail" }), { id: "Bad Id", kind: "rss", schedule: { every_secs: 1 } }, job({ id: "both", schedule: { every_secs: 5, cron: "* * * * *" } })],
      },
      "/etc/nexo/pollers.yaml",
      "/etc/nexo",
    ),
  );
  assert.ok(
    v.some((l) => l === "/breaker_treshold: is not allowed"),
    v.join("\n"),
  );
  assert.ok(
    v.some((l) => /^\/jobs\/0\/kind: must be one of "webhook_poll", "rss"/.test(l)),
    v.join("\n"),
  );
  assert.ok(
    v.some((l) => /^\/jobs\/1\/id: /.test(l)),
    v.join("\n"),
  );
  assert.ok(
    raw.some((x) => x.path === "/breaker_treshold" && x.message === "is not allowed"),
    "a JSON Pointer to the unknown key and the wording every validator uses",
  );
  const { lines: v2 } = refusal(() =>
    normalizePollersConfig(
      {
        jobs: [
          job({ id: "both", schedule: { every_secs: 5, cron: "* * * * *" } }),
          job({ id: "none", schedule: {} }),
          job({ id: "badcron", schedule: { cron: "every tuesday" } }),
          job({ id: "badtz", schedule: { cron: "0 9 * * *", tz: "Mars/Olympus" } }),
          job({ id: "tzonly", schedule: { every_secs: 5, tz: "UTC" } }),
          job({ id: "dup" }),
          job({ id: "dup" }),
          job({ id: "topic", topic: "plugin..inbound" }),
        ],
      },
      null,
      "/",
    ),
  );
  const expect = [
    /^\/jobs\/0\/schedule: job "both": set exactly one/,
    /^\/jobs\/1\/schedule: job "none": set exactly one/,
    /^\/jobs\/2\/schedule\/cron: job "badcron"/,
    /^\/jobs\/3\/schedule\/cron: job "badtz"/,
    /^\/jobs\/4\/schedule\/tz: job "tzonly"/,
    /^\/jobs\/6\/id: duplicate job id "dup"/,
    /^\/jobs\/7\/topic: job "topic"/,
  ];
  for (const re of expect)
    assert.ok(
      v2.some((l) => re.test(l)),
      `${re} not in:\n${v2.join("\n")}`,
    );
});

test("pollers config - nexo.yaml takes pollers inline, as a path, or from a pollers.yaml beside it (reference `pollers:` wrapper too)", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "conf"));
  writeFileSync(
    join(dir, "conf", "jobs.yaml"),
    `pollers:\n  state_db: ./poll.db\n  jobs:\n    - id: a\n      kind: rss\n      schedule: { every_secs: 10 }\n      config: { feed_url: "https://example.test/a" }\n`,
  );
  writeFileSync(join(dir, "nexo.yaml"), "plugins: {}\npollers: ./conf/jobs.yaml\n");
  const byPath = loadConfig(join(dir, "nexo.yaml"));
  assert.equal(byPath.pollers?.jobs[0].id, "a");
  assert.equal(byPath.pollers?.source, join(dir, "conf", "jobs.yaml"));
  assert.equal(byPath.pollers?.stateDb, `sqlite:${join(dir, "conf", "poll.db")}`);

  const beside = join(dir, "beside");
  mkdirSync(beside);
  writeFileSync(join(beside, "nexo.yaml"), "plugins: {}\n");
  assert.equal(loadConfig(join(beside, "nexo.yaml")).pollers, null);
  writeFileSync(join(beside, "pollers.yaml"), `enabled: false\njobs: []\n`);
  assert.equal(loadConfig(join(beside, "nexo.yaml")).pollers?.enabled, false);

  const inline = normalizeConfig({ pollers: { jobs: [job({ topic: "feeds.news" })] } }, null, dir);
  assert.equal(inline.pollers?.jobs[0].topic, "feeds.news");
  assert.equal(normalizeConfig({}, null, dir).pollers, null);

  writeFileSync(join(dir, "nexo-missing.yaml"), "pollers: ./nope.yaml\n");
  assert.throws(
    () => loadConfig(join(dir, "nexo-missing.yaml")),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID) && /nope\.yaml/.test(e.message),
  );
  writeFileSync(join(dir, "broken.yaml"), "jobs: [\n");
  writeFileSync(join(dir, "nexo-broken.yaml"), "pollers: ./broken.yaml\n");
  assert.throws(
    () => loadConfig(join(dir, "nexo-broken.yaml")),
    (e) => isNexoError(e, ErrorCodes.CONFIG_PARSE) && /broken\.yaml/.test(e.message),
  );
  assert.throws(
    () => normalizeConfig({ pollers: 42 }, null, dir),
    (e) => isNexoError(e, ErrorCodes.CONFIG_INVALID),
  );
});

test("config - a relative sqlite store path is resolved against the config's directory", () => {
  assert.equal(normalizeConfig({ store: "sqlite:./db/nexo.db" }, "/etc/nexo/nexo.yaml", "/etc/nexo").store, "sqlite:/etc/nexo/db/nexo.db");
  assert.equal(normalizeConfig({ store: "postgres://db/nexo" }, null, "/x").store, "postgres://db/nexo");
});

test('pollers config - a kind\'s config reports unknown and missing keys as every validator does: a JSON Pointer to the key, "is not allowed" / "is required"', () => {
  const schema = { type: "object", required: ["url"], additionalProperties: false, properties: { url: { type: "string" }, mode: { enum: ["a", "b"] } } };
  assert.throws(
    () => checkKindConfig("webhook_poll", schema, { urll: "x", "a/b": 1, mode: "c" }),
    (err: unknown) =>
      isNexoError(err, ErrorCodes.POLLER_INVALID_CONFIG) &&
      err.message === 'invalid webhook_poll config: /url: is required; /urll: is not allowed; /a~1b: is not allowed; /mode: must be one of "a", "b"',
  );
});

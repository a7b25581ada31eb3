import assert from "node:assert/strict";
import { test } from "node:test";
import { redactUrl, toNumberedPlaceholders } from "../../src/store/index.js";

test("store - ? placeholders become $1..$n outside literals, identifiers, dollar quotes and comments", () => {
  const cases: Array<[string, string, number]> = [
    ["SELECT ?", "SELECT $1", 1],
    ["INSERT INTO t (a, b) VALUES (?, ?)", "INSERT INTO t (a, b) VALUES ($1, $2)", 2],
    ["SELECT '?', ?", "SELECT '?', $1", 1],
    ["SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1],
    [`SELECT "col?" FROM t WHERE x = ?`, `SELECT "col?" FROM t WHERE x = $1`, 1],
    ["SELECT E'a\\'?', ?", "SELECT E'a\\'?', $1", 1],
    ["SELECT 'a\\', ?", "SELECT 'a\\', $1", 1], // a backslash is literal in a standard string
    ["SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2", 2],
    ["/* a /* nested ? */ still ? */ SELECT ?", "/* a /* nested ? */ still ? */ SELECT $1", 1],
    ["DO $$ BEGIN PERFORM '?'; END $$; SELECT ?", "DO $$ BEGIN PERFORM '?'; END $$; SELECT $1", 1],
    ["SELECT $fn$ ? $fn$, ?", "SELECT $fn$ ? $fn$, $1", 1],
    ["SELECT 'unterminated ?", "SELECT 'unterminated ?", 0],
  ];
  for (const [input, text, count] of cases) assert.deepEqual(toNumberedPlaceholders(input), { text, count }, input);
});

test("store - redactUrl hides passwords in the authority and in a password= parameter", () => {
  assert.equal(redactUrl("postgres://app:s3cret@db:5432/nexo"), "postgres://app:***@db:5432/nexo");
  assert.equal(redactUrl("postgresql://app@db/nexo?password=s3cret&sslmode=require"), "postgresql://app@db/nexo?password=***&sslmode=require");
  assert.equal(redactUrl("postgres://db/nexo"), "postgres://db/nexo");
  assert.equal(redactUrl("sqlite:/var/lib/nexo.db"), "sqlite:/var/lib/nexo.db");
});

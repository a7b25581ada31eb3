import assert from "node:assert/strict";
import { test } from "node:test";
import { validate, version } from "uuid";
import { uuidv7 } from "../src/ids.js";

test("ids - pooled UUID v7s are valid, unique and strictly increasing across pool refills", () => {
  const ids = Array.from({ length: 2000 }, () => uuidv7());
  for (const id of ids) {
    assert.ok(validate(id), id);
    assert.equal(version(id), 7);
  }
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `${ids[i - 1]} then ${ids[i]}`);
});

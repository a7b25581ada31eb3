import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ErrorCodes, isNexoError } from "../../src/errors.js";
import { compatibleTargets, hostTarget, selectArchive } from "../../src/packaging/index.js";
import { tempDir } from "../helpers/fixture-plugins.js";

const GNU = "x86_64-unknown-linux-gnu";

test("target - the host triple comes first, then its musl sibling on glibc, then noarch; NEXO_INSTALL_TARGET overrides the host", () => {
  assert.deepEqual(compatibleTargets(GNU), [GNU, "x86_64-unknown-linux-musl", "noarch"]);
  assert.deepEqual(compatibleTargets("aarch64-apple-darwin"), ["aarch64-apple-darwin", "noarch"]);
  assert.equal(hostTarget({ NEXO_INSTALL_TARGET: "aarch64-apple-darwin" }), "aarch64-apple-darwin");
  assert.match(hostTarget({}), /^[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+/);
});

test("target - from a directory the best archive for the host wins; a tie or nothing that runs here is an error naming the files", (t) => {
  const dir = tempDir(t);
  const touch = (name: string): string => {
    writeFileSync(join(dir, name), "");
    return join(dir, name);
  };
  touch("p-1.0.0-noarch.tar.gz");
  touch("p-1.0.0-noarch.tar.gz.sha256");
  touch("p-1.0.0-aarch64-apple-darwin.tar.gz");
  assert.equal(selectArchive([dir], GNU), join(dir, "p-1.0.0-noarch.tar.gz"));
  const musl = touch("p-1.0.0-x86_64-unknown-linux-musl.tar.gz");
  assert.equal(selectArchive([dir], GNU), musl);
  const gnu = touch(`p-1.0.0-${GNU}.tar.gz`);
  assert.equal(selectArchive([dir], GNU), gnu);
  assert.equal(selectArchive([join(dir, "p-1.0.0-noarch.tar.gz"), gnu], GNU), gnu, "several archives named on the command line");
  assert.equal(
    selectArchive([join(dir, "p-1.0.0-aarch64-apple-darwin.tar.gz")], GNU),
    join(dir, "p-1.0.0-aarch64-apple-darwin.tar.gz"),
    "one archive is taken as named; install checks its target",
  );

  touch(`q-2.0.0-${GNU}.tar.gz`);
  assert.throws(
    () => selectArchive([dir], GNU),
    (e) => isNexoError(e, ErrorCodes.PACKAGE_INVALID) && /several archives fit/.test(e.message),
  );
  const foreign = join(dir, "foreign");
  mkdirSync(foreign);
  writeFileSync(join(foreign, "p-1.0.0-aarch64-apple-darwin.tar.gz"), "");
  assert.throws(
    () => selectArchive([foreign], GNU),
    (e) => isNexoError(e, ErrorCodes.PACKAGE_TARGET) && /aarch64-apple-darwin/.test(e.message),
  );
  assert.throws(
    () => selectArchive([join(dir, "empty-missing")], GNU),
    (e) => isNexoError(e, ErrorCodes.PACKAGE_NOT_FOUND),
  );
});

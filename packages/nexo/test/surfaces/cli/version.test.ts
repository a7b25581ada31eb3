import assert from "node:assert/strict";
import { test } from "node:test";
import { NEXO_CONTRACT_VERSION } from "../../../src/contract/version.js";
import { NEXO_VERSION } from "../../../src/version.js";
import { runNexo } from "../../helpers/nexo-cli.js";

test("cli version - nexo --version shows Nexo's version and the upstream contract version manifests are checked against", async () => {
  const r = await runNexo(["--version"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), `nexo ${NEXO_VERSION} (nexo contract/daemon compat ${NEXO_CONTRACT_VERSION})`);
});

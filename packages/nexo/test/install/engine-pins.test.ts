// A user's `npm install -g nexo-host` ignores the workspace's `overrides`: each
// version the workspace forces (to keep Node 20 free of engine warnings) must
// also be a dependency of nexo-host itself, the same exact version, so npm places
// it before the package that wants a newer one and that package's range reuses it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const readJson = <T>(path: string): T => JSON.parse(readFileSync(new URL(path, `file://${REPO}`), "utf8")) as T;

interface Manifest {
  dependencies?: Record<string, string>;
  overrides?: Record<string, unknown>;
}
interface Lockfile {
  packages: Record<string, { version?: string }>;
}

test("install - every version the workspace overrides is pinned, exactly, in nexo-host's own dependencies and resolved so in the lockfile", () => {
  const root = readJson<Manifest>("package.json");
  const host = readJson<Manifest>("packages/nexo/package.json");
  const lock = readJson<Lockfile>("package-lock.json");
  const overrides = Object.entries(root.overrides ?? {});
  assert.ok(overrides.length > 0, "the workspace overrides at least light-my-request");
  for (const [name, version] of overrides) {
    assert.equal(typeof version, "string", `override ${name} is a plain version`);
    assert.equal(host.dependencies?.[name], version, `nexo-host depends on ${name}@${String(version)} itself`);
    assert.equal(lock.packages[`node_modules/${name}`]?.version, version, `the lockfile resolves ${name} to ${String(version)}`);
  }
});

// docs/architecture.md stays true to the tree: it names every folder of
// packages/nexo/src, and every source file its flows name exists.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const SRC = join(REPO, "packages", "nexo", "src");
const DOC = readFileSync(join(REPO, "docs", "architecture.md"), "utf8");

/** Every folder under src, as paths relative to it ("host", "host/sandbox", ...). */
function folders(dir = SRC, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [`${prefix}${e.name}`, ...folders(join(dir, e.name), `${prefix}${e.name}/`)]);
}

test("architecture doc - names every folder of packages/nexo/src (its own line, or by name on its parent's)", () => {
  const lines = DOC.split("\n");
  const missing = folders().filter((f) => {
    if (DOC.includes(`src/${f}/`)) return false;
    const parent = f.slice(0, f.lastIndexOf("/"));
    const name = f.slice(f.lastIndexOf("/") + 1);
    return !(parent && lines.some((l) => l.includes(`src/${parent}/`) && l.includes(name)));
  });
  assert.deepEqual(missing, []);
});

test("architecture doc - every source file the flows name exists", () => {
  const flows = DOC.slice(DOC.indexOf("## Flows through the code"));
  const named = [...new Set([...flows.matchAll(/`([a-z-]+(?:\/[a-z-]+)*\/[a-z-]+\.ts)`/g)].map((m) => m[1]))];
  assert.ok(named.length >= 30, `the flows name ${named.length} files`);
  assert.deepEqual(
    named.filter((f) => !existsSync(join(SRC, f))),
    [],
  );
});

// What the `nexo` binary loads before it knows which command it runs: the static
// import graph of bin/nexo.js in the built package. Commands import the library
// they need with `import()` when they run, so `nexo --version`, `publish`, `tail`
// and `plugin list` start without the HTTP server, MCP SDK, database drivers,
// HTTP client or JSON Schema compiler. Checked by walking the graph, not by timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { SCAFFOLD_LANGS } from "../../../src/scaffold/index.js";
import { TRUST_MODES } from "../../../src/packaging/index.js";
import { CLI_SCAFFOLD_LANGS, CLI_TRUST_MODES } from "../../../src/surfaces/cli/choices.js";

const PACKAGE = fileURLToPath(new URL("../../../", import.meta.url));
const ENTRY = resolve(PACKAGE, "bin/nexo.js");

/** Module specifiers of a file's top-level `import ... from` / `export ... from` (never `import()`). */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const out: string[] = [];
  for (const st of source.statements) {
    if (ts.isImportDeclaration(st) && !st.importClause?.isTypeOnly && ts.isStringLiteral(st.moduleSpecifier)) out.push(st.moduleSpecifier.text);
    if (ts.isExportDeclaration(st) && !st.isTypeOnly && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) out.push(st.moduleSpecifier.text);
  }
  return out;
}

/** Every local file and every package the entry reaches through static imports alone. */
function staticGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) todo.push(resolve(dirname(file), spec));
      else packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
    }
  }
  return { files: [...files].map((f) => relative(PACKAGE, f)).sort(), packages: [...packages].sort() };
}

const isBuiltin = (name: string): boolean => name.startsWith("node:") || builtinModules.includes(name);

test("cli - the entry's static import graph holds commander and the CLI, no library module", () => {
  const { files, packages } = staticGraph(ENTRY);
  const heavy = [
    "fastify",
    "@modelcontextprotocol/sdk",
    "better-sqlite3",
    "pg",
    "undici",
    "ajv",
    "yaml",
    "nats",
    "pino",
    "tar",
    "esbuild",
    "openai",
    "@anthropic-ai/sdk",
    "prom-client",
    "nexo-plugin-sdk",
  ];
  assert.deepEqual(
    packages.filter((p) => heavy.includes(p)),
    [],
    `heavy packages reached statically from bin/nexo.js: ${packages.join(", ")}`,
  );
  assert.deepEqual(
    packages.filter((p) => !isBuiltin(p)),
    ["commander"],
    "the entry statically needs commander alone",
  );
  // Outside the CLI's own folder only leaves with no imports of their own.
  const outside = files.filter((f) => f !== "bin/nexo.js" && !f.startsWith("dist/surfaces/cli/"));
  assert.deepEqual(outside, ["dist/errors.js", "dist/version.js"]);
  for (const leaf of outside)
    assert.deepEqual(
      staticImports(resolve(PACKAGE, leaf)).filter((s) => !isBuiltin(s)),
      [],
      `${leaf} imports nothing`,
    );
});

test("cli - the choices listed in --help are the ones the library accepts", () => {
  assert.deepEqual([...CLI_SCAFFOLD_LANGS], [...SCAFFOLD_LANGS]);
  assert.deepEqual([...CLI_TRUST_MODES], [...TRUST_MODES]);
});

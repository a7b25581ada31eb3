// Every TypeScript block of the SDK README is type-checked against the SDK's
// source, with only the assumptions the README states: the SDK's exports,
// node:fs / node:path, `manifestToml`, and the external clients it names.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import ts from "typescript";

const SDK = fileURLToPath(new URL("..", import.meta.url));

/** The ```ts blocks of a markdown text, with their line numbers. */
export function tsBlocks(markdown: string): Array<{ line: number; code: string }> {
  const out: Array<{ line: number; code: string }> = [];
  const re = /^```ts\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push({ line: markdown.slice(0, m.index).split("\n").length, code: m[1] });
  return out;
}

/** Every name `src/index.ts` exports (values and types). */
function sdkExports(): string[] {
  const index = readFileSync(join(SDK, "src", "index.ts"), "utf8");
  const names = new Set<string>();
  for (const m of index.matchAll(/export (?:type )?\{([^}]*)\}/g)) for (const n of m[1].split(",")) if (n.trim()) names.add(n.trim().replace(/^type /, ""));
  for (const m of index.matchAll(/export const (\w+)/g)) names.add(m[1]);
  return [...names];
}

const NODE: Record<string, string[]> = { "node:fs": ["existsSync", "mkdirSync", "readFileSync", "renameSync", "writeFileSync"], "node:path": ["join"] };
const FREE: Record<string, string> = { manifestToml: "string", stripe: "any", twilio: "any", TWILIO_FROM: "string", bot: "any" };

/** The assumed imports and declarations, minus what the block imports or declares itself. */
function preamble(code: string): string {
  const own = new Set<string>();
  for (const m of code.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}/g))
    for (const n of m[1].split(","))
      if (n.trim())
        own.add(
          n
            .trim()
            .replace(/^type /, "")
            .split(/\s+as\s+/)
            .pop()!,
        );
  for (const m of code.matchAll(/^(?:const|let|function|class)\s+(\w+)/gm)) own.add(m[1]);
  const sdk = sdkExports().filter((n) => !own.has(n));
  const lines = [`import { ${sdk.join(", ")} } from "nexo-plugin-sdk";`];
  for (const [mod, names] of Object.entries(NODE)) {
    const keep = names.filter((n) => !own.has(n));
    if (keep.length) lines.push(`import { ${keep.join(", ")} } from "${mod}";`);
  }
  for (const [n, type] of Object.entries(FREE)) if (!own.has(n)) lines.push(`declare const ${n}: ${type};`);
  return `${lines.join("\n")}\n`;
}

test("sdk readme - every TypeScript block type-checks against the SDK with the stated assumptions", () => {
  const readme = readFileSync(join(SDK, "README.md"), "utf8");
  const blocks = tsBlocks(readme);
  assert.ok(blocks.length >= 10, `found ${blocks.length} blocks`);
  const dir = mkdtempSync(join(tmpdir(), "nexo-readme-"));
  try {
    const files = blocks.map((b, i) => {
      const file = join(dir, `block-${i}.mts`);
      // The preamble stays on the first line so diagnostics keep the block's own line numbers.
      writeFileSync(file, `${preamble(b.code).replace(/\n/g, " ")}\n${b.code}\nexport {};\n`);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
      typeRoots: [fileURLToPath(new URL("../../../node_modules/@types", import.meta.url))],
      paths: { "nexo-plugin-sdk": [join(SDK, "src", "index.ts")] },
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const i = d.file ? files.indexOf(d.file.fileName) : -1;
      const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
      return `${i >= 0 ? `README.md:${blocks[i].line + at}` : (d.file?.fileName ?? "")}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    assert.deepEqual(problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The README and the docs/ pages render as intended: every code fence is opened
// with a language and closed, so no prose or heading ends up inside a code block;
// every relative link points at a file of the repository.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const PAGES = [
  "README.md",
  ...readdirSync(join(REPO, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

function checkFences(page: string): void {
  const lines = readFileSync(join(REPO, page), "utf8").split("\n");
  let open: { line: number; lang: string } | null = null;
  const headingsInCode: string[] = [];
  lines.forEach((text, i) => {
    const fence = /^```(.*)$/.exec(text);
    if (fence) {
      if (open) open = null;
      else {
        assert.notEqual(fence[1].trim(), "", `${page}:${i + 1} opens a code block without a language (a stray closing fence?)`);
        open = { line: i + 1, lang: fence[1].trim() };
      }
      return;
    }
    if (open && /^#{1,3} /.test(text) && open.lang !== "sh") headingsInCode.push(`${page}:${i + 1} ${text} (in the ${open.lang} block from line ${open.line})`);
  });
  assert.equal(open, null, `${page}: every code block is closed`);
  assert.deepEqual(headingsInCode, []);
}

test("readme - code fences pair up, each opened with a language; every section heading is outside code (README and docs/)", () => {
  for (const page of PAGES) checkFences(page);
  assert.ok(
    readFileSync(join(REPO, "docs", "writing-plugins.md"), "utf8")
      .split("\n")
      .includes("## In-process plugins"),
  );
});

test("readme - relative links of the README and docs/ pages point at files that exist", () => {
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(REPO, page), "utf8").replace(/```[\s\S]*?```/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split("#")[0];
      if (target === "" || /^[a-z]+:/.test(target)) continue;
      const file = join(dirname(join(REPO, page)), target);
      if (!existsSync(file)) broken.push(`${page}: ${m[1]} (${relative(REPO, file)})`);
    }
  }
  assert.deepEqual(broken, []);
});

test("readme - the README keeps the two commands and links every docs/ page", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  assert.match(readme, /^npm start$/m);
  assert.match(readme, /^npm test$/m);
  const missing = PAGES.filter((p) => p.startsWith("docs/") && !readme.includes(`](${p})`));
  assert.deepEqual(missing, [], "docs pages the README's map does not link");
});

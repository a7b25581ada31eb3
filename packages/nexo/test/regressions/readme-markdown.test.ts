// The repository README renders as intended: every code fence is opened with a
// language and closed, so no prose or heading ends up inside a code block.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const README = new URL("../../../../README.md", import.meta.url);

test("readme - code fences pair up, each opened with a language; every section heading is outside code", () => {
  const lines = readFileSync(README, "utf8").split("\n");
  let open: { line: number; lang: string } | null = null;
  const headingsInCode: string[] = [];
  lines.forEach((text, i) => {
    const fence = /^```(.*)$/.exec(text);
    if (fence) {
      if (open) open = null;
      else {
        assert.notEqual(fence[1].trim(), "", `README.md:${i + 1} opens a code block without a language (a stray closing fence?)`);
        open = { line: i + 1, lang: fence[1].trim() };
      }
      return;
    }
    if (open && /^#{1,3} /.test(text) && open.lang !== "sh") headingsInCode.push(`README.md:${i + 1} ${text} (in the ${open.lang} block from line ${open.line})`);
  });
  assert.equal(open, null, "every code block is closed");
  assert.deepEqual(headingsInCode, []);
  assert.ok(lines.includes("## In-process plugins"));
});

// Runs test files the way `node --test` does (each file in its own child process,
// a few at a time, a time limit per file), but in the order given: the CLI sorts
// its files by path, so the longest could not be started first.
// Usage: node --import tsx scripts/test-run.mjs --concurrency=N --timeout=MS <file>...
// The children inherit this process's --import tsx.
import { run } from "node:test";
import { spec, tap } from "node:test/reporters";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: "string" }, timeout: { type: "string" } },
});
if (positionals.length === 0) {
  console.error("test-run: no test files given");
  process.exit(2);
}

const stream = run({ files: positionals, concurrency: Number(values.concurrency ?? 1), timeout: Number(values.timeout ?? Infinity) });
// As the CLI: any failed or cancelled test fails the run; a failing todo test does not.
stream.on("test:fail", (data) => {
  if (!data.todo) process.exitCode = 1;
});
// As the CLI: the spec reporter on a terminal, TAP otherwise (CI logs).
stream.compose(process.stdout.isTTY ? new spec() : tap).pipe(process.stdout);

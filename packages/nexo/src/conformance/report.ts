import type { ConformanceReport, VectorResult } from "./runner.js";

/** Width of the vector-id column. */
const ID_WIDTH = 34;

/** The report's header line. */
export function formatHeader(plugin: ConformanceReport["plugin"], vectorCount: number): string {
  return `nexo plugin test: ${plugin.id} ${plugin.version} (${plugin.dir}), tags: ${plugin.tags.join(", ") || "none"}, ${vectorCount} vectors`;
}

/** One vector's line(s): `ok`, `FAIL` (with the reason indented below) or `skip` (with why). */
export function formatResult(r: VectorResult): string {
  const label = r.status === "pass" ? "ok  " : r.status === "fail" ? "FAIL" : "skip";
  const head = `${label}  ${r.id.padEnd(ID_WIDTH)} ${r.title}`;
  if (r.status === "pass") return `${head} (${r.ms} ms)`;
  if (r.status === "skip") return `${head} (${r.reason})`;
  const reason = (r.reason ?? "")
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n");
  return `${head}\n${reason}`;
}

/** The closing line, `N passed, N failed` (`, N skipped` when any were). */
export function formatSummary(report: Pick<ConformanceReport, "passed" | "failed" | "skipped">): string {
  return `${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ""}`;
}

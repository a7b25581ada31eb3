import type { Command } from "commander";
import { requestDaemon } from "./daemon-client.js";
import { formatTable } from "./format.js";

/** `nexo runs list|show|cancel`: the asynchronous runs of a running daemon (every principal's). */
export function registerRunCommands(program: Command): void {
  const runs = program.command("runs").description("asynchronous workflow runs of the running daemon: list, show, cancel");
  const call = (method: Parameters<typeof requestDaemon>[1], params?: unknown): Promise<any> => requestDaemon(program, method, params);
  const print = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  const when = (iso: string | null): string => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");

  runs
    .command("list")
    .description("recent runs, newest first")
    .option("--status <status>", "only runs in this status (queued, running, completed, failed, cancelled, interrupted)")
    .option("--workflow <name>", "only runs of this workflow")
    .option("-n, --limit <n>", "at most this many (default 50)", (v) => Number.parseInt(v, 10))
    .option("--json", "machine-readable output")
    .action(async (opts: { status?: string; workflow?: string; limit?: number; json?: boolean }) => {
      const list = (await call("RUN_LIST", {
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.workflow ? { workflow: opts.workflow } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
      })) as Array<Record<string, any>>;
      if (opts.json) return print(list);
      const rows = list.map((r) => [
        r.id,
        r.workflow,
        r.status,
        r.channel,
        when(r.createdAt),
        r.durationSeconds === null ? "-" : `${r.durationSeconds.toFixed(3)}s`,
        r.error?.code ?? "",
      ]);
      process.stdout.write(`${formatTable(["RUN", "WORKFLOW", "STATUS", "CHANNEL", "CREATED", "DURATION", "ERROR"], rows)}\n`);
    });

  runs
    .command("show <id>")
    .description("one run: status, timings, result or error")
    .action(async (id: string) => print(await call("RUN_SHOW", { id })));

  runs
    .command("cancel <id>")
    .description("cancel a queued or running run (its ctx.signal aborts)")
    .action(async (id: string) => {
      const r = (await call("RUN_CANCEL", { id })) as Record<string, any>;
      process.stdout.write(`${r.id}: ${r.cancelRequested ? "cancellation requested from the daemon running it" : r.status}\n`);
    });
}

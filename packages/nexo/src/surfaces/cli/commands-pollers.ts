import type { Command } from "commander";
import { requestDaemon, type ControlModule } from "./daemon-client.js";
import { formatTable } from "./format.js";

/** A control method named by its key, resolved once the control surface is loaded. */
type MethodKey = keyof ControlModule["ControlMethods"];

/** `nexo pollers list|run|pause|resume|reset`: the YAML-only pollers of a running daemon. */
export function registerPollerCommands(program: Command): void {
  const pollers = program.command("pollers").description("YAML-only pollers of the running daemon: list, run, pause, resume, reset");
  const call = (method: Parameters<typeof requestDaemon>[1], params?: unknown): Promise<any> => requestDaemon(program, method, params);
  const print = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

  pollers
    .command("list")
    .description("every job: state, schedule, next run, last success, counters, pause reason")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const r = (await call("POLLER_LIST")) as { enabled: boolean; jobs: Array<Record<string, any>> };
      if (opts.json) return print(r);
      if (!r.enabled) return void process.stdout.write("pollers are disabled or not configured\n");
      const when = (iso: string | null): string => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");
      const rows = r.jobs.map((j) => [
        j.id,
        j.kind,
        j.state,
        j.schedule,
        when(j.nextRunAt),
        when(j.lastSuccessAt),
        j.runs,
        j.itemsEmitted,
        Object.values(j.errors as Record<string, number>).reduce((a, b) => a + b, 0),
      ]);
      const lines = [formatTable(["JOB", "KIND", "STATE", "SCHEDULE", "NEXT RUN", "LAST SUCCESS", "RUNS", "ITEMS", "ERRORS"], rows)];
      for (const j of r.jobs) {
        if (j.pauseReason) lines.push(`${j.id}: paused: ${j.pauseReason}`);
        else if (j.lastError) lines.push(`${j.id}: last error: ${j.lastError}`);
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  pollers
    .command("run <id>")
    .description("run a job now (schedule, pause and breaker are bypassed; a run elsewhere is not)")
    .option("--json", "machine-readable output")
    .action(async (id: string, opts: { json?: boolean }) => {
      const r = (await call("POLLER_RUN", { id })) as Record<string, any>;
      if (opts.json) return print(r);
      const error = r.error ? ` [${r.error.code}] ${r.error.message}` : "";
      process.stdout.write(`${r.id}: ${r.status}, ${r.itemsEmitted} new of ${r.itemsSeen} items in ${r.durationMs} ms${error}\n`);
      if (r.status === "transient" || r.status === "permanent") process.exitCode = 1;
    });

  const stateCommand = (name: "pause" | "resume" | "reset", method: MethodKey, description: string): Command =>
    pollers
      .command(`${name} <id>`)
      .description(description)
      .action(async (id: string, opts: { reason?: string }) => {
        const s = (await call(method, { id, ...(opts.reason ? { reason: opts.reason } : {}) })) as Record<string, any>;
        process.stdout.write(`${s.id}: ${s.state}${s.pauseReason ? ` (${s.pauseReason})` : ""}\n`);
      });
  stateCommand("pause", "POLLER_PAUSE", "pause a job on every daemon sharing the store").option("--reason <text>", "shown by `nexo pollers list`");
  stateCommand("resume", "POLLER_RESUME", "resume a paused job (it runs at once)");
  stateCommand("reset", "POLLER_RESET", "forget a job's cursor, seen ids, errors and pause: the next run delivers every item again");
}

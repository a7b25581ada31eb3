import type { Command } from "commander";
import { connectDaemon, loadControl } from "./daemon-client.js";
import { formatTable } from "./format.js";

interface AuditRow {
  id: number;
  at: string;
  principal: string;
  strategy: string | null;
  tenant: string | null;
  surface: string;
  kind: string;
  name: string;
  allowed: boolean;
  rule: string;
}

/** `nexo audit`: the running daemon's authorization decisions, newest first (docs/authorization.md). */
export function registerAuditCommands(program: Command): void {
  program
    .command("audit")
    .description("authorization decisions of the running daemon, newest first")
    .option("--principal <id>", "only this principal id")
    .option("--tenant <id>", "only this tenant")
    .option("--kind <kind>", "workflow, tool or admin")
    .option("--name <name>", "only this workflow or tool")
    .option("--denied", "only refusals")
    .option("--since <time>", "ISO 8601 time")
    .option("--limit <n>", "at most this many (default 100, max 1000)")
    .option("--json", "machine-readable output")
    .action(async (opts: { principal?: string; tenant?: string; kind?: string; name?: string; denied?: boolean; since?: string; limit?: string; json?: boolean }) => {
      const params: Record<string, unknown> = {};
      for (const k of ["principal", "tenant", "kind", "name", "since", "limit"] as const) if (opts[k] !== undefined) params[k] = opts[k];
      if (opts.denied) params.allowed = false;
      const [{ ControlMethods }, { RpcError }, client] = await Promise.all([loadControl(), import("../../contract/index.js"), connectDaemon(program)]);
      try {
        const rows = (await client.request(ControlMethods.AUDIT_QUERY, params)) as AuditRow[];
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else {
          const lines = rows.map((r) => [
            r.at,
            r.allowed ? "allow" : "DENY",
            r.strategy ? `${r.strategy}:${r.principal}` : r.principal,
            r.tenant ?? "-",
            r.surface,
            `${r.kind} ${r.name}`,
            r.rule,
          ]);
          process.stdout.write(`${formatTable(["AT", "DECISION", "PRINCIPAL", "TENANT", "SURFACE", "ACTION", "RULE"], lines)}\n`);
        }
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        const data = (err.data ?? {}) as { code?: string };
        process.stderr.write(`nexo: ${err.message}${data.code ? ` [${data.code}]` : ""}\n`);
        process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}

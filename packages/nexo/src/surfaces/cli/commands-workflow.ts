import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ErrorCodes, NexoError } from "../../errors.js";
import { connectDaemon, loadControl } from "./daemon-client.js";
import { formatTable } from "./format.js";

/** Parse `--input`: inline JSON, `@file.json`, or `-` for stdin. */
export function parseInputOption(raw: string | undefined, readStdin: () => string = () => readFileSync(0, "utf8")): unknown {
  if (raw === undefined) return {};
  let text = raw;
  let where = "--input";
  if (raw === "-") {
    text = readStdin();
    where = "stdin";
  } else if (raw.startsWith("@")) {
    where = raw.slice(1);
    try {
      text = readFileSync(where, "utf8");
    } catch (err) {
      throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, `cannot read ${where}: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, `${where} is not valid JSON: ${(err as Error).message}`);
  }
}

/** `nexo workflow list|run`: workflows of a running daemon, through its control socket. */
export function registerWorkflowCommands(program: Command): void {
  const workflow = program.command("workflow").description("workflows of the running daemon");

  workflow
    .command("list")
    .description("registered workflows with their descriptions")
    .option("--json", "machine-readable output, with input schemas")
    .action(async (opts: { json?: boolean }) => {
      const [{ ControlMethods }, client] = await Promise.all([loadControl(), connectDaemon(program)]);
      try {
        const rows = (await client.request(ControlMethods.WORKFLOW_LIST)) as Array<{ name: string; description: string; inputSchema: unknown }>;
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else
          process.stdout.write(
            `${formatTable(
              ["WORKFLOW", "DESCRIPTION"],
              rows.map((r) => [r.name, r.description]),
            )}\n`,
          );
      } finally {
        client.close();
      }
    });

  workflow
    .command("run <name>")
    .description("run a workflow and print its result as JSON")
    .option("-i, --input <json>", "inputs: a JSON object, @file.json, or - for stdin (default {})")
    .action(async (name: string, opts: { input?: string }) => {
      const inputs = parseInputOption(opts.input);
      const [{ ControlMethods }, { RpcError }, client] = await Promise.all([loadControl(), import("../../contract/index.js"), connectDaemon(program)]);
      try {
        const reply = (await client.request(ControlMethods.WORKFLOW_RUN, { name, inputs })) as { result: unknown };
        process.stdout.write(`${JSON.stringify(reply.result, null, 2)}\n`);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        const data = (err.data ?? {}) as { code?: string; violations?: Array<{ path: string; message: string }> };
        process.stderr.write(`nexo: ${err.message}${data.code ? ` [${data.code}]` : ""}\n`);
        for (const v of data.violations ?? []) process.stderr.write(`  ${v.path || "/"}: ${v.message}\n`);
        process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}

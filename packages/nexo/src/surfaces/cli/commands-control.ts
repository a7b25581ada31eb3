import type { Command } from "commander";
import { ErrorCodes, NexoError } from "../../errors.js";
import type { ControlClient } from "../control/index.js";
import { connectDaemon, loadControl, type ControlModule } from "./daemon-client.js";
import { formatTable } from "./format.js";

/** Run `fn` on a connection to the daemon, with the control surface's names (`ControlMethods`). */
async function withClient<T>(program: Command, fn: (client: ControlClient, control: ControlModule) => Promise<T>): Promise<T> {
  const [control, client] = await Promise.all([loadControl(), connectDaemon(program)]);
  try {
    return await fn(client, control);
  } finally {
    client.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `nexo plugin list|status|restart`, `nexo publish`, `nexo tail`: talk to a running daemon. */
export function registerControlCommands(program: Command, plugin: Command): void {
  plugin
    .command("list")
    .description("list the daemon's subprocess plugins")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const rows = (await withClient(program, (c, { ControlMethods }) => c.request(ControlMethods.PLUGIN_LIST))) as Array<Record<string, any>>;
      if (opts.json) return print(rows);
      process.stdout.write(
        `${formatTable(
          ["PLUGIN", "VERSION", "STATE", "PID", "RESTARTS"],
          rows.map((r) => [r.key, r.version, r.state, r.pid, r.restarts]),
        )}\n`,
      );
    });

  plugin
    .command("status [key]")
    .description("status of one plugin (or all): state, pid, restarts, last exit, sandbox, limits, grants, stderr tail")
    .option("--json", "machine-readable output")
    .action(async (key: string | undefined, opts: { json?: boolean }) => {
      const result = await withClient(program, (c, { ControlMethods }) => c.request(ControlMethods.PLUGIN_STATUS, key ? { key } : {}));
      const list = (Array.isArray(result) ? result : [result]) as Array<Record<string, any>>;
      if (opts.json) return print(result);
      for (const s of list) {
        process.stdout.write(
          [
            `${s.key} (${s.id} ${s.version})`,
            `  state:      ${s.state}`,
            `  pid:        ${s.pid ?? "-"}`,
            `  restarts:   ${s.restarts}`,
            `  last exit:  ${s.lastExitCode ?? "-"}${s.lastSignal ? ` (${s.lastSignal})` : ""}${s.lastExitReason ? ` [${s.lastExitReason}]` : ""}`,
            `  sandbox:    ${s.sandbox ?? "none"}`,
            `  limits:     ${s.limits ?? "none"}`,
            `  grants:     ${s.grants ?? "-"}${s.permissionDenials ? ` (${s.permissionDenials} refused)` : ""}`,
            ...(s.lastError ? [`  last error: ${s.lastError}`] : []),
            `  channels:   ${s.channels.join(", ") || "-"}`,
            `  tools:      ${s.tools.join(", ") || "-"}`,
            ...(s.route ? [`  route:      ${s.route}`] : []),
            `  events:     ${s.delivered} delivered, ${s.droppedEvents} dropped, ${s.published} published, ${s.deniedPublishes} denied`,
            `  frames:     ${s.badFrames ?? 0} bad, ${s.stdinStalls ?? 0} stdin stalls, ${s.ioFaults ?? 0} host faults`,
            `  stderr tail:`,
            ...(s.stderrTail.length ? s.stderrTail.map((l: string) => `    ${l}`) : ["    (empty)"]),
            "",
          ].join("\n"),
        );
      }
    });

  plugin
    .command("restart <key>")
    .description("restart a plugin (resets its crash counter)")
    .action(async (key: string) => {
      const s = (await withClient(program, (c, { ControlMethods }) => c.request(ControlMethods.PLUGIN_RESTART, { key }))) as Record<string, any>;
      process.stdout.write(`${s.key}: ${s.state} (pid ${s.pid ?? "-"})\n`);
    });

  program
    .command("publish <topic> [json]")
    .description("publish an event on the daemon's broker; json is the payload (default null)")
    .action(async (topic: string, json: string | undefined) => {
      let payload: unknown = null;
      if (json !== undefined) {
        try {
          payload = JSON.parse(json);
        } catch (err) {
          throw new NexoError(ErrorCodes.CONTROL_BAD_REQUEST, `payload is not valid JSON: ${(err as Error).message}`);
        }
      }
      const r = (await withClient(program, (c, { ControlMethods }) => c.request(ControlMethods.PUBLISH, { topic, payload }))) as { id: string };
      process.stdout.write(`${r.id}\n`);
    });

  program
    .command("tail <pattern>")
    .description("print events matching a pattern as they happen, one JSON line each (Ctrl-C to stop)")
    .option("-n, --count <n>", "exit after this many events", (v) => Number.parseInt(v, 10))
    .action(async (pattern: string, opts: { count?: number }) => {
      const [{ ControlMethods, TAIL_EVENT }, client] = await Promise.all([loadControl(), connectDaemon(program)]);
      let seen = 0;
      await new Promise<void>((resolve, reject) => {
        client.onNotification((method, params) => {
          if (method !== TAIL_EVENT) return;
          process.stdout.write(`${JSON.stringify((params as { event: unknown }).event)}\n`);
          seen += 1;
          if (opts.count !== undefined && seen >= opts.count) resolve();
        });
        client.onClose(() => resolve());
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
        client.request(ControlMethods.TAIL, { pattern }).then(() => {
          // Tell scripts the subscription is live (on stderr, so stdout stays pure events).
          process.stderr.write(`tailing ${pattern}\n`);
        }, reject);
      });
      client.close();
    });
}

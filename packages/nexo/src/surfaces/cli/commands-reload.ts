import type { Command } from "commander";
import { connectDaemon, loadControl } from "./daemon-client.js";

/**
 * `nexo reload`: the running daemon reads its nexo.yaml again and applies the
 * difference (like SIGHUP). Prints what changed as JSON, per kind
 * `{add, replace, remove, keep}`, with `reconfigure`, `restarted`, `failed`
 * and `needsRestart`. A config that does not validate changes nothing: the
 * daemon's reason goes to stderr and the exit code is 1.
 */
export function registerReloadCommand(program: Command): void {
  program
    .command("reload")
    .description("re-read the running daemon's nexo.yaml and apply only the difference (same as SIGHUP); prints what changed")
    .action(async () => {
      const [{ ControlMethods }, { RpcError }, client] = await Promise.all([loadControl(), import("../../contract/index.js"), connectDaemon(program)]);
      try {
        const report = await client.request(ControlMethods.RELOAD);
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
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

import type { Command } from "commander";
import { RpcError } from "../../contract/index.js";
import { ControlClient, ControlMethods } from "../control/index.js";
import { resolveSocketPath } from "./socket-path.js";

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
      const client = await ControlClient.connect(resolveSocketPath(program.opts<{ socket?: string; config?: string }>()));
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

import type { Command } from "commander";
import { loadConfig } from "../../config/index.js";
import { Daemon, runUntilStopSignal } from "../../daemon/index.js";

/** `nexo run`: start the daemon in the foreground until SIGINT, SIGTERM or SIGHUP (each a clean stop). */
export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("start the daemon (bundled example plugins by default)")
    .option("-c, --config <file>", "nexo.yaml to load (default ./nexo.yaml if present, else built-in defaults)")
    .action(async (opts: { config?: string }) => {
      // `--config` is also a global option (to find a daemon's socket); commander gives it to whichever is declared first.
      const config = loadConfig(opts.config ?? program.opts<{ config?: string }>().config);
      await runUntilStopSignal(() => Daemon.start(config));
    });
}

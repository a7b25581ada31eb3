import type { Command } from "commander";
import type { NexoConfig } from "../../config/index.js";

/** What an empty daemon (no config file) tells its user, on stderr. */
export function emptyDaemonHint(command: "run" | "mcp"): string {
  return [
    `nexo ${command}: no --config and no ./nexo.yaml, so this is an empty daemon: no plugins, no workflows.`,
    "  to add plugins, list them in a nexo.yaml and pass it with --config:",
    "    plugin_paths: [./plugins]      # directories holding plugins (each with a nexo-plugin.toml)",
    "  create one: nexo plugin new my_plugin --lang ts|python|php|rust --dir plugins/my_plugin",
    "  install one: nexo plugin install <archive>",
    "  the bundled demo: nexo demo",
    "",
  ].join("\n");
}

/** `nexo run` and `nexo demo`: start the daemon in the foreground until SIGINT or SIGTERM (a clean stop); SIGHUP reloads the config. */
export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("start the daemon (an empty one unless a config names plugins; --demo for the bundled demo)")
    .option("-c, --config <file>", "nexo.yaml to load (default ./nexo.yaml if present, else an empty daemon)")
    .option("--demo", "run the bundled demo (same as `nexo demo`)")
    .action(async (opts: { config?: string; demo?: boolean }) => {
      const { loadConfig } = await import("../../config/index.js");
      // `--config` is also a global option (to find a daemon's socket); commander gives it to whichever is declared first.
      const file = opts.config ?? program.opts<{ config?: string }>().config;
      const cwd = process.cwd();
      const load = (): NexoConfig => loadConfig(file, cwd, { demo: opts.demo === true });
      const config = load();
      if (config.file === null) process.stderr.write(emptyDaemonHint("run"));
      await runForeground(config, config.file === null ? undefined : load);
    });
  program
    .command("demo")
    .description("run the bundled demo: echo plugins (TypeScript, Python), a webhook receiver and an SMS sender on a sandbox, state in ./.nexo-state")
    .action(async () => {
      const { loadConfig } = await import("../../config/index.js");
      const cwd = process.cwd();
      const load = (): NexoConfig => loadConfig(undefined, cwd, { demo: true });
      await runForeground(load(), load);
    });
}

/** `reload` reads the config again the way it was first read (same file, same working directory, demo or not). */
async function runForeground(config: NexoConfig, reload?: () => NexoConfig): Promise<void> {
  const { Daemon, runUntilStopSignal } = await import("../../daemon/index.js");
  await runUntilStopSignal(() => Daemon.start(config, reload ? { reloadConfig: reload } : {}));
}

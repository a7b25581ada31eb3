import { Command, CommanderError } from "commander";
import { NexoError } from "../../errors.js";
import { NEXO_CONTRACT_VERSION, NEXO_VERSION } from "../../version.js";
import { registerControlCommands } from "./commands-control.js";
import { registerRunCommand } from "./commands-daemon.js";
import { registerManifestCommands } from "./commands-manifest.js";
import { registerPluginDevCommands } from "./commands-plugin-dev.js";
import { registerMcpCommand } from "./commands-mcp.js";
import { registerPackageCommands } from "./commands-plugin-package.js";
import { registerWorkflowCommands } from "./commands-workflow.js";
import { registerAuditCommands } from "./commands-audit.js";
import { registerPollerCommands } from "./commands-pollers.js";
import { registerReloadCommand } from "./commands-reload.js";
import { registerRunCommands } from "./commands-runs.js";

/** Build the `nexo` command tree. */
export function buildProgram(): Command {
  const program = new Command("nexo")
    .description("Nexo: a plugin host for agent and workflow daemons")
    .version(`nexo ${NEXO_VERSION} (nexo contract/daemon compat ${NEXO_CONTRACT_VERSION})`)
    .option("-s, --socket <path>", "control socket of a running daemon (default: from the config's state_dir)")
    .option("-c, --config <file>", "nexo.yaml used to find the daemon's socket")
    .showHelpAfterError();
  registerRunCommand(program);
  registerManifestCommands(program);
  const plugin = program.command("plugin").description("subprocess plugins: list, status, restart (running daemon); pack, install; test, new (development)");
  registerControlCommands(program, plugin);
  registerPackageCommands(plugin);
  registerPluginDevCommands(plugin);
  registerWorkflowCommands(program);
  registerPollerCommands(program);
  registerAuditCommands(program);
  registerReloadCommand(program);
  registerRunCommands(program);
  registerMcpCommand(program);
  return program;
}

/** Entry point of the `nexo` binary. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof NexoError) {
      process.stderr.write(`nexo: ${err.message} [${err.code}]\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

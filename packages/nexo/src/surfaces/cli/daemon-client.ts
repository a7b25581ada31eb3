import type { Command } from "commander";
import type { ControlClient } from "../control/index.js";
import { resolveSocketPath } from "./socket-path.js";

/** The control surface's module, loaded when a command first talks to a daemon. */
export type ControlModule = typeof import("../control/index.js");

/** The control surface, imported on first use: commands that never reach a daemon never load it. */
export function loadControl(): Promise<ControlModule> {
  return import("../control/index.js");
}

/** Connect to the daemon named by the global `--socket` / `--config` options (or `$NEXO_SOCKET`). */
export async function connectDaemon(program: Command): Promise<ControlClient> {
  const [{ ControlClient }, path] = await Promise.all([loadControl(), resolveSocketPath(program.opts<{ socket?: string; config?: string }>())]);
  return ControlClient.connect(path);
}

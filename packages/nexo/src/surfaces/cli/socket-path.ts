import { loadConfig } from "../../config/index.js";

/** Where the CLI finds the daemon: --socket, then $NEXO_SOCKET, then the config's control.socket. */
export function resolveSocketPath(options: { socket?: string; config?: string }): string {
  if (options.socket) return options.socket;
  if (process.env.NEXO_SOCKET) return process.env.NEXO_SOCKET;
  return loadConfig(options.config).control.socket;
}

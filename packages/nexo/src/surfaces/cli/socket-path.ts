/**
 * Where the CLI finds the daemon: --socket, then $NEXO_SOCKET, then the config's
 * control.socket. The config loader (YAML, JSON Schema) is imported only when
 * neither of the first two is given, so a command with a socket starts without it.
 */
export async function resolveSocketPath(options: { socket?: string; config?: string }): Promise<string> {
  if (options.socket) return options.socket;
  if (process.env.NEXO_SOCKET) return process.env.NEXO_SOCKET;
  const { loadConfig } = await import("../../config/index.js");
  return loadConfig(options.config).control.socket;
}

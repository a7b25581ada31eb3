import { join } from "node:path";

/** Where a bridged plugin's socket directory appears inside its sandbox. */
export const BRIDGE_DIR_IN_SANDBOX = "/run/nexo-http";
/** The socket's file name, in that directory on both sides. */
export const BRIDGE_SOCKET_NAME = "http.sock";
/** Longest path a Unix socket address holds on Linux (sun_path less its NUL). */
const MAX_SOCKET_PATH = 107;

/** What the sandbox needs to bridge an `http_server` plugin's port to a Unix socket. */
export interface HttpBridge {
  /** Host directory holding the socket (bound read-write at BRIDGE_DIR_IN_SANDBOX). */
  socketDir: string;
  /** The socat binary, resolved on the daemon's PATH. */
  socat: string;
  /** The port the plugin was told to listen on (`NEXO_PLUGIN_HTTP_PORT`). */
  port: number;
  /** The manifest's `bind`: the bridge connects to it, or to loopback for a wildcard. */
  bind: string;
}

/** The host directory of plugin `key`'s bridge socket: `<stateRoot>/sockets/<key>`. */
export function bridgeSocketDir(stateRoot: string, key: string): string {
  return join(stateRoot, "sockets", key);
}

/** The host path the daemon's proxy connects to, or null when it is too long for a Unix socket. */
export function bridgeSocketPath(socketDir: string): string | null {
  const path = join(socketDir, BRIDGE_SOCKET_NAME);
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH ? path : null;
}

/** socat's address for the plugin's listener inside the namespace: the bind address, loopback for a wildcard. */
export function bridgeTarget(bind: string, port: number): string {
  if (bind === "::" || bind === "::1" || bind.includes(":")) return `TCP6:[${bind === "::" ? "::1" : bind}]:${port}`;
  return `TCP4:${bind === "0.0.0.0" ? "127.0.0.1" : bind}:${port}`;
}

/**
 * The command bubblewrap runs for a bridged plugin: a shell that starts socat
 * in the background (listening on the bound socket, one forked child per
 * connection, each connecting to the plugin's port on the namespace's own
 * loopback) and then execs the plugin, which keeps its pid, stdio and exit
 * status. socat gets /dev/null for stdin and stdout so it can never touch the
 * NDJSON pipes; its errors reach the plugin's stderr tail. Both die with the
 * namespace when the plugin exits. Pure.
 */
export function bridgedCommand(bridge: HttpBridge, command: string, args: readonly string[]): { command: string; args: string[] } {
  const listen = `UNIX-LISTEN:${BRIDGE_DIR_IN_SANDBOX}/${BRIDGE_SOCKET_NAME},fork,unlink-early,mode=600`;
  const script = 'socat=$1; listen=$2; target=$3; shift 3; "$socat" -lpnexo-http-bridge "$listen" "$target" </dev/null >/dev/null & exec "$@"';
  return { command: "/bin/sh", args: ["-c", script, "nexo-http-bridge", bridge.socat, listen, bridgeTarget(bridge.bind, bridge.port), command, ...args] };
}

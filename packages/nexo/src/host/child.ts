import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { Writable } from "node:stream";
import { ErrorCodes, NexoError } from "../errors.js";
import { errorMessage } from "../util/index.js";

/** Variables of the daemon's own environment a plugin inherits; everything else is withheld. */
const INHERITED_ENV = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "SHELL", "SYSTEMROOT", "PYTHONPATH", "VIRTUAL_ENV", "NODE_PATH"];
const INHERITED_PREFIXES = ["LC_"];

export interface SpawnPluginOptions {
  command: string;
  args: readonly string[];
  /** Working directory: the plugin's directory. */
  cwd: string;
  /** The plugin's own env (manifest + operator), already checked for reserved keys. */
  env: Readonly<Record<string, string>>;
  /** Host-provided `NEXO_*` variables; these win over everything. */
  hostEnv: Readonly<Record<string, string>>;
  /** Parent environment to take the allow-listed variables from. Default process.env. */
  parentEnv?: NodeJS.ProcessEnv;
  /** Run as this uid/gid (a sandbox dropping root); default the daemon's. */
  uid?: number;
  gid?: number;
  /** Give the child a fourth pipe (fd 3), the cgroup gate: `releaseGate` opens it. Default false. */
  gate?: boolean;
}

/** How a plugin process ended. */
export interface ExitOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The host had to SIGKILL it (ignored shutdown or SIGTERM). */
  forcefullyTerminated: boolean;
}

/** Build the child's environment: an allow-list of the parent's, then the plugin's, then the host's. */
export function buildChildEnv(options: SpawnPluginOptions): Record<string, string> {
  const parent = options.parentEnv ?? process.env;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v === undefined) continue;
    if (INHERITED_ENV.includes(k) || INHERITED_PREFIXES.some((p) => k.startsWith(p))) env[k] = v;
  }
  Object.assign(env, options.env, options.hostEnv);
  return env;
}

/** POSIX: every plugin leads a process group of its own. */
export const USE_PROCESS_GROUPS = process.platform !== "win32";

/**
 * Send `signal` to the plugin's whole process group (the plugin and every
 * process it started); where there are no groups, to the plugin alone.
 * Returns false when nothing was left to signal.
 */
export function signalProcessGroup(child: Pick<ChildProcessWithoutNullStreams, "pid" | "kill">, signal: NodeJS.Signals): boolean {
  const pid = child.pid;
  if (USE_PROCESS_GROUPS && pid !== undefined) {
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      // ESRCH: the group is gone; EPERM cannot happen for our own children
      return false;
    }
  }
  return child.kill(signal);
}

/**
 * Spawn a plugin child with piped stdio and no shell. Resolves once the OS has
 * started the process; rejects NEXO_ERR_HOST_SPAWN_FAILED (e.g. ENOENT) naming the command.
 */
export function spawnPluginProcess(pluginId: string, options: SpawnPluginOptions): Promise<ChildProcessWithoutNullStreams> {
  return new Promise((resolve, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: buildChildEnv(options),
        shell: false,
        stdio: options.gate ? ["pipe", "pipe", "pipe", "pipe"] : ["pipe", "pipe", "pipe"],
        // Its own process group (and session): the host can signal the plugin
        // with everything it started, and a terminal's Ctrl-C reaches only the
        // daemon, which then stops the plugins in order.
        detached: USE_PROCESS_GROUPS,
        windowsHide: true,
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      });
    } catch (cause) {
      reject(spawnError(pluginId, options.command, cause));
      return;
    }
    const onError = (cause: Error): void => {
      child.off("spawn", onSpawn);
      reject(spawnError(pluginId, options.command, cause));
    };
    const onSpawn = (): void => {
      child.off("error", onError);
      resolve(child);
    };
    child.once("error", onError);
    child.once("spawn", onSpawn);
  });
}

/** Let a gated child (`gate: true`) run: one line on its fd 3, then close it. */
export function releaseGate(child: ChildProcessWithoutNullStreams): void {
  const gate = child.stdio[3] as Writable | null | undefined;
  if (!gate) return;
  gate.on("error", () => undefined);
  gate.end("go\n");
}

function spawnError(pluginId: string, command: string, cause: unknown): NexoError {
  const reason = errorMessage(cause);
  return new NexoError(ErrorCodes.HOST_SPAWN_FAILED, `plugin ${pluginId}: cannot start "${command}": ${reason}`, { pluginId, cause });
}

/** Resolves when the child has exited and its stdio closed. */
export function waitForExit(child: ChildProcessWithoutNullStreams): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ exitCode: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("close", (exitCode, signal) => resolve({ exitCode, signal })));
}

import { chmodSync, chownSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCodes, NexoError } from "../../errors.js";
import { buildBwrapArgs } from "./bwrap-args.js";
import { bridgeSocketPath, type HttpBridge } from "./http-bridge.js";
import { cgroupGate } from "./cgroup.js";
import { niceLevel, prlimitArgs } from "./limits.js";
import { ensureBwrapWorks, findOnPath } from "./probe.js";
import { SANDBOX_GID, SANDBOX_UID, type SandboxPlan } from "./types.js";

/** How to spawn a plugin once contained: the command to run, and the uid/gid to run it as. */
export interface ContainedCommand {
  command: string;
  args: string[];
  /** Set when the daemon is root and the sandbox drops the user: bwrap itself runs unprivileged. */
  uid?: number;
  gid?: number;
  /** Variables that change inside a sandbox (HOME is the state dir, TMPDIR the private /tmp). */
  envOverrides: Record<string, string>;
  /** A bridged `http_server` plugin: the host path of the Unix socket its HTTP server is reached on. */
  httpSocket?: string;
  /** The command waits on fd 3 until the daemon has moved it into its cgroup (see cgroupGate). */
  gated: boolean;
}

export interface ContainInput {
  key: string;
  plan: SandboxPlan;
  command: string;
  args: readonly string[];
  pluginDir: string;
  stateDir: string;
  protectedPaths: readonly string[];
  /** The daemon's PATH: where bwrap, prlimit, socat and a bare entrypoint command are looked up. */
  pathEnv: string;
  /** For an `http_server` plugin: its allocated port and bind, and where its bridge socket goes on the host. */
  http?: { port: number; bind: string; socketDir: string };
  /** A cgroup holds the memory, process and CPU limits: only open files stay an rlimit, and the command waits at the cgroup gate. Default false. */
  cgroup?: boolean;
}

/**
 * Wrap a plugin's command in prlimit (limits) and bwrap (sandbox) as the plan
 * says. A sandboxed plugin whose sandbox cannot be set up is refused
 * (NEXO_ERR_HOST_SANDBOX_UNAVAILABLE), never started unconfined. When the
 * daemon runs as root and the sandbox drops the user, bwrap runs as uid 65534
 * for real (its state dir is handed to that uid), so the plugin holds no root
 * privilege even towards files outside its namespaces.
 */
export function containCommand(input: ContainInput): ContainedCommand {
  const { plan } = input;
  let command = input.command;
  let args = [...input.args];
  const out: ContainedCommand = { command, args, envOverrides: {}, gated: false };
  if (plan.sandbox) {
    const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const realUid = plan.sandbox.dropUser && asRoot ? SANDBOX_UID : undefined;
    const bwrap = ensureBwrapWorks(input.key, input.pathEnv, realUid);
    const resolved = findOnPath(command, input.pathEnv);
    if (!resolved) throw new NexoError(ErrorCodes.HOST_SPAWN_FAILED, `plugin ${input.key}: cannot start "${command}": not found on PATH`, { pluginId: input.key });
    if (realUid !== undefined) {
      const blocked = unreachableFor(realpathSync(input.pluginDir), SANDBOX_UID);
      if (blocked) {
        throw new NexoError(
          ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
          `plugin ${input.key}: its sandbox runs as uid ${SANDBOX_UID} (drop_user), which cannot reach the plugin directory: ${blocked} is not open to other users. It is not started. Run chmod o+rx on it (or set drop_user = false)`,
          { pluginId: input.key },
        );
      }
      chownSync(input.stateDir, SANDBOX_UID, SANDBOX_GID);
      out.uid = SANDBOX_UID;
      out.gid = SANDBOX_GID;
    }
    const httpBridge = plan.httpBridged ? prepareBridge(input, realUid) : undefined;
    if (httpBridge) out.httpSocket = bridgeSocketPath(httpBridge.socketDir)!;
    args = buildBwrapArgs({
      plan,
      pluginDir: realpathSync(input.pluginDir),
      stateDir: input.stateDir,
      command: resolved,
      args,
      protectedPaths: input.protectedPaths,
      ...(httpBridge ? { httpBridge } : {}),
      kind: (p) => {
        try {
          return statSync(p).isDirectory() ? "dir" : "file";
        } catch {
          return "missing";
        }
      },
    });
    command = bwrap;
    out.envOverrides = { HOME: input.stateDir, TMPDIR: "/tmp" };
  }
  // With a cgroup, only open files are left to rlimits; without one, a CPU weight below 100 becomes a nice level.
  const rlimits = input.cgroup ? (plan.limits.openFiles !== undefined ? { openFiles: plan.limits.openFiles } : {}) : plan.limits;
  if (!input.cgroup && plan.limits.cpuWeight !== undefined && niceLevel(plan.limits.cpuWeight) > 0) {
    const nice = findOnPath("nice", input.pathEnv);
    if (nice) {
      args = ["-n", String(niceLevel(plan.limits.cpuWeight)), command, ...args];
      command = nice;
    }
  }
  if (prlimitArgs(rlimits).length > 0) {
    const prlimit = findOnPath("prlimit", input.pathEnv);
    if (!prlimit) {
      throw new NexoError(
        ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
        `plugin ${input.key} has resource limits but prlimit (util-linux) is not on the daemon's PATH: it is not started. Install util-linux`,
        { pluginId: input.key },
      );
    }
    args = [...prlimitArgs(rlimits), command, ...args];
    command = prlimit;
  }
  if (input.cgroup) {
    ({ command, args } = cgroupGate(command, args));
    out.gated = true;
  }
  out.command = command;
  out.args = args;
  return out;
}

/**
 * Ready the socket directory of a bridged `http_server` plugin (fresh, private
 * to the sandbox's uid) and find socat; refuses the plugin, saying why, when
 * it cannot be bridged: never falls back to the host's network.
 */
function prepareBridge(input: ContainInput, realUid: number | undefined): HttpBridge {
  const { key } = input;
  if (!input.http) {
    throw new NexoError(ErrorCodes.HOST_SANDBOX_UNAVAILABLE, `plugin ${key} serves HTTP under network = "deny" but was given no port to bridge: it is not started`, {
      pluginId: key,
    });
  }
  const socat = findOnPath("socat", input.pathEnv);
  if (!socat) {
    throw new NexoError(
      ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
      `plugin ${key} serves HTTP from a network = "deny" sandbox, which needs socat to bridge its port to the daemon, but socat is not on the daemon's PATH: it is not started. Install it (Debian/Ubuntu: apt-get install socat; scripts/setup.sh does)`,
      { pluginId: key },
    );
  }
  const { socketDir } = input.http;
  if (!bridgeSocketPath(socketDir)) {
    throw new NexoError(
      ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
      `plugin ${key}: the socket path under ${socketDir} is longer than a Unix socket allows (107 bytes): it is not started. Use a shorter state_dir in nexo.yaml`,
      { pluginId: key },
    );
  }
  // The parent only needs traversing (bwrap may run as 65534); listing it would show the other plugins' keys.
  mkdirSync(dirname(socketDir), { recursive: true });
  chmodSync(dirname(socketDir), 0o711);
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  if (realUid !== undefined) chownSync(socketDir, realUid, realUid);
  return { socketDir, socat, port: input.http.port, bind: input.http.bind };
}

/** The first directory on the way to `dir` (itself included) that `uid` may not enter and list, by its mode bits; null when all are open. */
function unreachableFor(dir: string, uid: number): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const st = statSync(d);
    const bits = st.uid === uid ? (st.mode >> 6) & 7 : st.gid === uid ? (st.mode >> 3) & 7 : st.mode & 7;
    const need = d === dir ? 5 : 1;
    if ((bits & need) !== need) return d;
    if (d === "/") return null;
  }
}

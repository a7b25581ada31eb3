import { chownSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCodes, NexoError } from "../../errors.js";
import { buildBwrapArgs } from "./bwrap-args.js";
import { hasLimits, prlimitArgs } from "./limits.js";
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
}

export interface ContainInput {
  key: string;
  plan: SandboxPlan;
  command: string;
  args: readonly string[];
  pluginDir: string;
  stateDir: string;
  protectedPaths: readonly string[];
  /** The daemon's PATH: where bwrap, prlimit and a bare entrypoint command are looked up. */
  pathEnv: string;
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
  const out: ContainedCommand = { command, args, envOverrides: {} };
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
    args = buildBwrapArgs({
      plan,
      pluginDir: realpathSync(input.pluginDir),
      stateDir: input.stateDir,
      command: resolved,
      args,
      protectedPaths: input.protectedPaths,
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
  if (hasLimits(plan.limits)) {
    const prlimit = findOnPath("prlimit", input.pathEnv);
    if (!prlimit) {
      throw new NexoError(
        ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
        `plugin ${input.key} has resource limits but prlimit (util-linux) is not on the daemon's PATH: it is not started. Install util-linux`,
        { pluginId: input.key },
      );
    }
    args = [...prlimitArgs(plan.limits), command, ...args];
    command = prlimit;
  }
  out.command = command;
  out.args = args;
  return out;
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

import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { resolveEntrypoint } from "../manifest/index.js";
import { releaseGate, signalProcessGroup, spawnPluginProcess } from "./child.js";
import { checkPluginConfig, checkRequirements } from "./preflight.js";
import {
  bridgeSocketDir,
  containCommand,
  hasCgroupLimits,
  planSandbox,
  type CgroupManager,
  type PluginCgroup,
  type SandboxOperatorConfig,
  type SandboxPlan,
} from "./sandbox/index.js";
import { ErrorCodes, NexoError } from "../errors.js";
import { pluginKey, type PluginSpec } from "./types.js";
import { ownProperty } from "../util/index.js";

export interface LaunchPluginOptions {
  /** Root of plugin state dirs; the plugin gets `<stateRoot>/plugins/<key>/` (created). */
  stateRoot: string;
  /** The host's version, passed in `NEXO_VERSION`. */
  nexoVersion: string;
  /** Extra host-provided `NEXO_*` variables (an allocated port, the conformance probe switch). Default none. */
  extraHostEnv?: Readonly<Record<string, string>>;
  /** Parent environment to take the allow-listed variables from. Default process.env. */
  parentEnv?: NodeJS.ProcessEnv;
  /** The operator's sandbox settings. Default: the manifest's sandbox as declared (host network allowed), no limits. */
  sandbox?: SandboxOperatorConfig;
  /** Where limits get a cgroup v2 group when the system allows it. Default none: rlimits. */
  cgroups?: CgroupManager;
}

/** A started plugin child and the state dir it was given. */
export interface LaunchedPlugin {
  child: ChildProcessWithoutNullStreams;
  stateDir: string;
  /** How it is contained (sandbox, limits). */
  plan: SandboxPlan;
  /** Its cgroup, when its limits live in one. */
  cgroup: PluginCgroup | null;
}

/**
 * The `NEXO_*` variables the host gives every plugin (they win over the plugin's own env).
 * `NEXO_BROKER_KIND=stdio_bridge` is how the upstream daemon tells its plugins to reach
 * the broker over stdio; without it upstream plugins try to connect to NATS themselves.
 */
export function pluginHostEnv(spec: PluginSpec, stateDir: string, nexoVersion: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    NEXO_BROKER_KIND: "stdio_bridge",
    NEXO_PLUGIN_ID: spec.manifest.id,
    NEXO_PLUGIN_KEY: pluginKey(spec),
    NEXO_PLUGIN_STATE_DIR: stateDir,
    NEXO_VERSION: nexoVersion,
    ...(spec.instance ? { NEXO_PLUGIN_INSTANCE: spec.instance } : {}),
    ...extra,
  };
}

/**
 * Start a plugin's process the way the daemon does: entrypoint resolved
 * against the manifest's directory, cwd = that directory, an allow-listed
 * environment plus the manifest's and operator's env plus the host's `NEXO_*`
 * variables, a fresh state dir. The daemon and `nexo plugin test` both start
 * plugins through this one function, so a plugin that passes the conformance
 * kit was started exactly as it will be in production.
 * Before spawning, `[plugin.requires]` and the operator's config are checked:
 * a plugin that could not work is not started (NEXO_ERR_HOST_REQUIREMENT_MISSING,
 * NEXO_ERR_HOST_CONFIG_INVALID). Variables the manifest names for passing
 * (`requires.env`, `token_env`, `extra_env_passthrough`) come from the parent env.
 * Rejects NEXO_ERR_HOST_SPAWN_FAILED naming the command.
 */
export async function launchPlugin(spec: PluginSpec, options: LaunchPluginOptions): Promise<LaunchedPlugin> {
  const parentEnv = options.parentEnv ?? process.env;
  checkRequirements(spec, parentEnv);
  checkPluginConfig(spec);
  const passed: Record<string, string> = {};
  for (const name of spec.manifest.passEnv) {
    const v = ownProperty(parentEnv, name);
    if (v !== undefined) passed[name] = v;
  }
  const key = pluginKey(spec);
  const stateDir = join(options.stateRoot, "plugins", key);
  mkdirSync(stateDir, { recursive: true });
  const entry = resolveEntrypoint(spec.manifest);
  // The daemon's state (every other plugin's state dir, the store, the control socket) is never visible to a sandbox.
  const operator = options.sandbox ?? { require: false, allowHostNetwork: [spec.manifest.id], limits: {}, protectedPaths: [] };
  const protectedPaths = [...new Set([realOrSelf(options.stateRoot), ...operator.protectedPaths])];
  const plan = planSandbox(spec.manifest, key, stateDir, { ...operator, protectedPaths }, spec.limits, realOrSelf);
  const hs = spec.manifest.httpServer;
  const port = Number(options.extraHostEnv?.NEXO_PLUGIN_HTTP_PORT);
  const http = hs && Number.isInteger(port) && port > 0 ? { port, bind: hs.bind, socketDir: bridgeSocketDir(options.stateRoot, key) } : undefined;
  const cgroup = hasCgroupLimits(plan.limits) ? prepareCgroup(key, plan, options.cgroups) : null;
  if (cgroup) plan.cgroup = cgroup.dir;
  const contained = containCommand({
    key,
    plan,
    command: entry.command,
    args: entry.args,
    pluginDir: entry.cwd,
    stateDir,
    protectedPaths,
    pathEnv: parentEnv.PATH ?? "",
    ...(http ? { http } : {}),
    cgroup: cgroup !== null,
  });
  if (contained.httpSocket) plan.httpSocket = contained.httpSocket;
  const child = await spawnPluginProcess(key, {
    command: contained.command,
    args: contained.args,
    cwd: entry.cwd,
    env: { ...contained.envOverrides, ...passed, ...spec.manifest.entrypoint.env, ...(spec.env ?? {}) },
    hostEnv: pluginHostEnv(spec, stateDir, options.nexoVersion, options.extraHostEnv),
    ...(options.parentEnv ? { parentEnv: options.parentEnv } : {}),
    ...(contained.uid !== undefined ? { uid: contained.uid } : {}),
    ...(contained.gid !== undefined ? { gid: contained.gid } : {}),
    gate: contained.gated,
  });
  if (cgroup) {
    // The child waits at the gate until it is in its cgroup: nothing it starts can escape the limits.
    try {
      cgroup.attach(child.pid!);
    } catch (err) {
      signalProcessGroup(child, "SIGKILL");
      throw new NexoError(ErrorCodes.HOST_SANDBOX_UNAVAILABLE, `plugin ${key}: cannot move it into its cgroup ${cgroup.dir}: ${(err as Error).message}; it is not started`, {
        pluginId: key,
        cause: err,
      });
    }
    releaseGate(child);
  }
  return { child, stateDir, plan, cgroup };
}

/** The plugin's cgroup, or null for rlimits; a group that cannot be made refuses the plugin (never run unlimited). */
function prepareCgroup(key: string, plan: SandboxPlan, cgroups: CgroupManager | undefined): PluginCgroup | null {
  try {
    return cgroups?.prepare(key, plan.limits) ?? null;
  } catch (err) {
    throw new NexoError(ErrorCodes.HOST_SANDBOX_UNAVAILABLE, `plugin ${key}: cannot set up its cgroup for its limits: ${(err as Error).message}; it is not started`, {
      pluginId: key,
      cause: err,
    });
  }
}

/** A path with its symlinks resolved, or as given when it does not exist (yet). */
function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

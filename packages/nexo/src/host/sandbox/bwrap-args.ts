import { dirname } from "node:path";
import { BRIDGE_DIR_IN_SANDBOX, bridgedCommand, type HttpBridge } from "./http-bridge.js";
import { DENIED_PATHS, isWithin } from "./plan.js";
import { SANDBOX_GID, SANDBOX_UID, type SandboxPlan } from "./types.js";

/** System directories a runtime and its shared libraries live in (read-only; missing ones skipped). */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** The few files of /etc a runtime needs: the loader cache, name resolution, time zone, CA certificates, alternatives. */
const ETC_ENTRIES = [
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/localtime",
  "/etc/nsswitch.conf",
  "/etc/hosts",
  "/etc/resolv.conf",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/alternatives",
  "/etc/passwd",
  "/etc/group",
];

export interface BwrapInput {
  plan: SandboxPlan;
  /** The plugin's directory: visible read-only, and its cwd. */
  pluginDir: string;
  /** The plugin's state dir (writable when listed in the plan's write paths). */
  stateDir: string;
  /** The entrypoint as an absolute, symlink-resolved path. */
  command: string;
  args: readonly string[];
  /** The daemon's own paths (state dir, control socket): hidden even where a bound directory contains them. */
  protectedPaths: readonly string[];
  /** What is at a path on the host; decides how a protected path under a bound directory is masked. */
  kind: (path: string) => "dir" | "file" | "missing";
  /** For a plan with `httpBridged`: the socket dir and port the bridge serves (required then). */
  httpBridge?: HttpBridge;
}

/**
 * The bubblewrap command line for one plugin (everything after `bwrap`). An
 * empty root gets: the system dirs and a few /etc files read-only, the
 * runtime's install prefix when it lives outside them, the plugin's directory
 * read-only, the declared read and write paths, a private /proc (with
 * /proc/sys hidden), /dev and /tmp. Every namespace is unshared; the network
 * is kept only for `network = "host"`; an `http_server` plugin under `deny`
 * runs behind a socat bridge from a bound socket directory to its port on the
 * namespace's loopback. Protected paths that a bound directory
 * contains are masked (an empty tmpfs, or /dev/null over a file). Pure.
 */
export function buildBwrapArgs(input: BwrapInput): string[] {
  const { plan } = input;
  const sandbox = plan.sandbox;
  if (!sandbox) throw new Error("buildBwrapArgs: the plan has no sandbox");
  const args = ["--die-with-parent", "--new-session", "--unshare-all", "--unshare-user"];
  if (sandbox.network === "host") args.push("--share-net");
  if (plan.httpBridged && !input.httpBridge) throw new Error("buildBwrapArgs: the plan bridges HTTP but no bridge was given");
  if (sandbox.dropUser) args.push("--uid", String(SANDBOX_UID), "--gid", String(SANDBOX_GID));
  for (const d of SYSTEM_DIRS) args.push("--ro-bind-try", d, d);
  for (const e of ETC_ENTRIES) args.push("--ro-bind-try", e, e);
  const bound: string[] = [...SYSTEM_DIRS, input.pluginDir];
  const runtime = runtimePrefix(input.command);
  if (runtime && runtime !== "/" && !bound.some((b) => isWithin(runtime, b))) {
    args.push("--ro-bind", runtime, runtime);
    bound.push(runtime);
  }
  args.push("--proc", "/proc", "--tmpfs", "/proc/sys", "--dev", "/dev", "--tmpfs", "/tmp");
  args.push("--ro-bind", input.pluginDir, input.pluginDir);
  // Hide what must stay hidden even though a bound directory holds it.
  for (const p of [...DENIED_PATHS, ...input.protectedPaths]) {
    if (p === "/proc/sys" || !bound.some((b) => isWithin(p, b) && p !== b)) continue;
    const k = input.kind(p);
    if (k === "dir") args.push("--tmpfs", p);
    else if (k === "file") args.push("--ro-bind", "/dev/null", p);
  }
  for (const p of plan.readPaths) args.push("--ro-bind-try", p, p);
  for (const p of plan.writePaths) args.push("--bind-try", p, p);
  let run = { command: input.command, args: [...input.args] };
  if (plan.httpBridged && input.httpBridge) {
    args.push("--bind", input.httpBridge.socketDir, BRIDGE_DIR_IN_SANDBOX);
    if (!bound.some((b) => isWithin(input.httpBridge!.socat, b))) args.push("--ro-bind", input.httpBridge.socat, input.httpBridge.socat);
    run = bridgedCommand(input.httpBridge, input.command, input.args);
  }
  args.push("--chdir", input.pluginDir, "--", run.command, ...run.args);
  return args;
}

/**
 * Where a runtime outside the system dirs is installed: the parent of its
 * `bin/` (e.g. `/opt/node-20` for `/opt/node-20/bin/node`), else its directory.
 * Null for a command in the system dirs.
 */
export function runtimePrefix(command: string): string | null {
  if (SYSTEM_DIRS.some((d) => isWithin(command, d))) return null;
  const dir = dirname(command);
  return dir.endsWith("/bin") && dir !== "/bin" ? dirname(dir) : dir;
}

import { ErrorCodes, NexoError } from "../../errors.js";
import type { PluginManifest } from "../../manifest/index.js";
import { niceLevel } from "./limits.js";
import type { ResourceLimits, SandboxOperatorConfig, SandboxPlan, SandboxSettings } from "./types.js";

const STATE_DIR_TOKEN = "${state_dir}";

/** Paths no sandbox ever shows, whatever the manifest asks (the daemon's own are added from the config). */
export const DENIED_PATHS: readonly string[] = ["/etc/shadow", "/etc/gshadow", "/proc/sys", "/run/docker.sock", "/var/run/docker.sock", "/root", "/boot"];

/** `a` is `b` or below it. */
export function isWithin(a: string, b: string): boolean {
  return a === b || b === "/" || a.startsWith(b.endsWith("/") ? b : `${b}/`);
}

/**
 * Decide how a plugin is contained: its own enabled `[plugin.sandbox]`, else
 * the operator's `sandbox.default`, else none, which `sandbox.require`
 * refuses. Declared paths get `${state_dir}` expanded and are checked against
 * the denylist: a path that is, lies in or contains a denied one is refused
 * (the plugin's own state dir excepted). Pure; `realpath` resolves symlinks so
 * a link to /etc/shadow is caught too.
 */
export function planSandbox(
  manifest: Pick<PluginManifest, "id" | "sandbox" | "httpServer">,
  key: string,
  stateDir: string,
  operator: SandboxOperatorConfig,
  specLimits: ResourceLimits = {},
  realpath: (p: string) => string = (p) => p,
): SandboxPlan {
  const limits: ResourceLimits = { ...operator.limits, ...specLimits };
  let sandbox: SandboxSettings | null = null;
  let source: SandboxPlan["source"] = "none";
  if (manifest.sandbox?.enabled) {
    const { network, fsReadPaths, fsWritePaths, dropUser } = manifest.sandbox;
    sandbox = { network, fsReadPaths, fsWritePaths, dropUser };
    source = "manifest";
  } else if (operator.default) {
    sandbox = operator.default;
    source = "default";
  } else if (operator.require) {
    throw new NexoError(
      ErrorCodes.HOST_SANDBOX_REQUIRED,
      `plugin ${key} declares no [plugin.sandbox] and sandbox.require is true in nexo.yaml: it is not started. Give it one ([plugin.sandbox] enabled = true) or set sandbox.default in nexo.yaml`,
      { pluginId: key },
    );
  }
  if (!sandbox) return { sandbox: null, source, readPaths: [], writePaths: [], limits, httpBridged: false };
  if (sandbox.network === "host" && !operator.allowHostNetwork.includes(manifest.id)) {
    throw new NexoError(
      ErrorCodes.HOST_SANDBOX_DENIED,
      `plugin ${key} asks for network = "host" in its sandbox, which the operator has not allowed: it is not started. Add "${manifest.id}" to sandbox.allow_host_network in nexo.yaml to allow it`,
      { pluginId: key },
    );
  }
  const denied = [...DENIED_PATHS, ...operator.protectedPaths];
  const expand = (p: string): string => (p.startsWith(STATE_DIR_TOKEN) ? stateDir + p.slice(STATE_DIR_TOKEN.length) : p);
  const check = (list: string[], what: string): string[] =>
    list.map((declared) => {
      const path = expand(declared).replace(/\/+$/, "") || "/";
      const real = realpath(path);
      if (isWithin(real, stateDir)) return path;
      const hit = denied.find((d) => isWithin(real, d) || isWithin(d, real));
      if (hit) {
        throw new NexoError(
          ErrorCodes.HOST_SANDBOX_DENIED,
          `plugin ${key}: [plugin.sandbox] ${what} "${declared}" overlaps ${hit}, which no plugin may see: it is not started. Remove the path from the manifest`,
          { pluginId: key },
        );
      }
      return path;
    });
  return {
    sandbox,
    source,
    readPaths: check(sandbox.fsReadPaths, "fs_read_paths"),
    writePaths: check(sandbox.fsWritePaths, "fs_write_paths"),
    limits,
    httpBridged: sandbox.network === "deny" && manifest.httpServer !== undefined,
  };
}

/** One line for logs and `nexo plugin status`, e.g. `bwrap network=deny uid=65534` or `none`. */
export function describePlan(plan: SandboxPlan): { sandbox: string; limits: string } {
  const s = plan.sandbox;
  const sandbox = s
    ? `bwrap (${plan.source}) network=${s.network}${plan.httpBridged ? " (http over unix socket)" : ""}${s.dropUser ? " drop_user" : ""}${plan.writePaths.length ? ` write=${plan.writePaths.join(",")}` : ""}`
    : "none";
  const l = plan.limits;
  const memory = l.memoryMb !== undefined ? `memory=${l.memoryMb}MiB` : "";
  const processes = l.processes !== undefined ? `processes=${l.processes}` : "";
  const files = l.openFiles !== undefined ? `open_files=${l.openFiles}` : "";
  if (plan.cgroup) {
    const cg = [memory, processes, l.cpuWeight !== undefined ? `cpu_weight=${l.cpuWeight}` : ""].filter(Boolean).join(" ");
    return { sandbox, limits: `cgroup v2 (${plan.cgroup}) ${cg}${files ? `; rlimits (prlimit) ${files}` : ""}` };
  }
  const nice = l.cpuWeight !== undefined ? `nice=${niceLevel(l.cpuWeight)}` : "";
  const parts = [memory, processes, files, nice].filter(Boolean);
  return { sandbox, limits: parts.length ? `rlimits (prlimit) ${parts.join(" ")}` : "none" };
}

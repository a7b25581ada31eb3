import { spawnSync } from "node:child_process";
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { ErrorCodes, NexoError } from "../../errors.js";

/** The executable `name` on `pathEnv`, symlinks resolved, or null. */
export function findOnPath(name: string, pathEnv: string): string | null {
  if (isAbsolute(name)) return executable(name) ? realpathSync(name) : null;
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return realpathSync(candidate);
  }
  return null;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const probed = new Map<string, string | null>();

/**
 * Check once (per bwrap binary and uid) that bubblewrap can create its
 * namespaces here; throws NEXO_ERR_HOST_SANDBOX_UNAVAILABLE saying why and how
 * to fix it. `uid` is the uid bwrap will run as (the host drops to it when root).
 */
export function ensureBwrapWorks(pluginKey: string, pathEnv: string, uid: number | undefined): string {
  const bwrap = findOnPath("bwrap", pathEnv);
  if (!bwrap) {
    throw new NexoError(
      ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
      `plugin ${pluginKey} asks for a sandbox but bubblewrap (bwrap) is not on the daemon's PATH: it is not started. Install it (Debian/Ubuntu: apt-get install bubblewrap; scripts/setup.sh does) and restart the daemon`,
      { pluginId: pluginKey },
    );
  }
  const cacheKey = `${bwrap}:${uid ?? "self"}`;
  if (!probed.has(cacheKey)) {
    const r = spawnSync(bwrap, ["--unshare-all", "--unshare-user", "--die-with-parent", "--ro-bind", "/", "/", "true"], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 10_000,
      ...(uid !== undefined ? { uid, gid: uid } : {}),
    });
    probed.set(cacheKey, r.status === 0 ? null : r.stderr?.toString().trim() || r.error?.message || `exit ${r.status}`);
  }
  const failure = probed.get(cacheKey);
  if (failure) {
    throw new NexoError(
      ErrorCodes.HOST_SANDBOX_UNAVAILABLE,
      `plugin ${pluginKey} asks for a sandbox but bubblewrap cannot create namespaces here (${failure}): it is not started. Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0; in a container, run it with user namespaces allowed)`,
      { pluginId: pluginKey },
    );
  }
  return bwrap;
}

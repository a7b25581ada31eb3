import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import { NEXO_VERSION } from "../../src/version.js";
import { writeFixtureManifest } from "./fixture-manifest.js";

/** The misbehaving raw plugin (test/fixtures/plugins/hostile-plugin.mjs). */
export const HOSTILE_SCRIPT = fileURLToPath(new URL("../fixtures/plugins/hostile-plugin.mjs", import.meta.url));

export interface HostileOptions {
  id: string;
  /** deep | stall | ignore-all | spam | flood | clean */
  mode: string;
  /** Channel kind (default: the id). */
  kind?: string;
  /** HOSTILE_* settings and anything else for the plugin's environment. */
  env?: Record<string, string>;
  supervisor?: { respawn?: boolean; max_attempts?: number; backoff_ms?: number };
}

/** Write `<root>/<id>/nexo-plugin.toml` running the hostile fixture in `mode`, and load it. */
export function hostilePlugin(root: string, options: HostileOptions): PluginManifest {
  const env: Record<string, string> = { FIXTURE_KIND: options.kind ?? options.id, ...(options.env ?? {}) };
  const sup = options.supervisor ?? {};
  const dir = writeFixtureManifest(join(root, options.id), {
    id: options.id,
    version: "0.1.0",
    name: `hostile ${options.mode}`,
    entrypoint: { command: process.execPath, args: [HOSTILE_SCRIPT, options.mode], env },
    channels: { register: [{ kind: options.kind ?? options.id }] },
    extends: { tools: ["deep_result", "deep_error"] },
    supervisor: { respawn: sup.respawn ?? true, max_attempts: sup.max_attempts ?? 3, backoff_ms: sup.backoff_ms ?? 50 },
  });
  return loadManifest(dir, { nexoVersion: NEXO_VERSION });
}

/** True while `pid` runs (a zombie, exited but not yet reaped, counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

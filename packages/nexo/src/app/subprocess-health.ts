import type { PluginHost, PluginStatus } from "../host/index.js";
import type { HealthStatus, PluginStatusEntry } from "./types.js";

const HEALTH_BY_STATE: Record<PluginStatus["state"], HealthStatus> = {
  ready: "ok",
  starting: "degraded",
  restarting: "degraded",
  stopped: "degraded",
  failed: "failed",
};

/** Subprocess plugins as `/health` lists them, beside the in-process ones. */
export function subprocessHealth(host: PluginHost): PluginStatusEntry[] {
  return host.status().map((s) => {
    const entry: PluginStatusEntry = {
      name: s.key,
      version: s.version,
      kind: "subprocess",
      state: s.state,
      health: HEALTH_BY_STATE[s.state],
      details: {
        pid: s.pid,
        restarts: s.restarts,
        lastExitCode: s.lastExitCode,
        droppedEvents: s.droppedEvents,
        tools: s.tools,
        channels: s.channels,
        ...(s.route !== undefined ? { route: s.route } : {}),
      },
    };
    if (s.lastError) entry.error = s.lastError;
    return entry;
  });
}

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

/** The plugin's state directory: `$NEXO_PLUGIN_STATE_DIR` (set by the host), else `./.nexo-state/<id>`; created if missing. */
export function stateDir(pluginId = process.env.NEXO_PLUGIN_ID ?? "plugin"): string {
  const dir = process.env.NEXO_PLUGIN_STATE_DIR ? resolve(process.env.NEXO_PLUGIN_STATE_DIR) : join(process.cwd(), ".nexo-state", pluginId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

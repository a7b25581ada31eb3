import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

let adapterPluginId: string | undefined;

/** @internal `PluginAdapter` records its manifest id here so `stateDir()` needs no argument. */
export function setStateDirPluginId(id: string): void {
  adapterPluginId = id;
}

/**
 * The plugin's state directory, created if missing: `$NEXO_PLUGIN_STATE_DIR`
 * (set by the host), else `./.nexo-state/<id>` where `<id>` is `pluginId`,
 * else the running adapter's manifest id, else `$NEXO_PLUGIN_ID`.
 * @example writeFileSync(join(stateDir(), "cursor.json"), JSON.stringify(cursor))
 */
export function stateDir(pluginId?: string): string {
  const fromEnv = process.env.NEXO_PLUGIN_STATE_DIR;
  let dir: string;
  if (fromEnv) dir = resolve(fromEnv);
  else {
    const id = pluginId ?? adapterPluginId ?? process.env.NEXO_PLUGIN_ID;
    if (!id) throw new Error("stateDir(): no plugin id (pass one, construct a PluginAdapter first, or set NEXO_PLUGIN_STATE_DIR)");
    dir = join(process.cwd(), ".nexo-state", id);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

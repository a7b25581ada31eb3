import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "smol-toml";

/** A manifest's `[plugin]` table as the TOML holds it (snake_case keys, nested tables). */
export type FixturePluginTable = Record<string, unknown>;

/**
 * Write `<dir>/nexo-plugin.toml` holding `plugin` as its `[plugin]` table,
 * creating `dir`. smol-toml writes the TOML, so any id, path or env value (quotes,
 * backslashes, newlines) reaches the loader exactly as given. Returns `dir`.
 */
export function writeFixtureManifest(dir: string, plugin: FixturePluginTable): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "nexo-plugin.toml"), stringify({ plugin }));
  return dir;
}

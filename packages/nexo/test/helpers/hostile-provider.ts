import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";

const SCRIPT = fileURLToPath(new URL("../fixtures/plugins/hostile-provider.mjs", import.meta.url));

/**
 * A plugin dir under `root` running the hostile provider fixture: LLM provider
 * "evil", memory backend "evilmem", hook `before_outbound`, channel kind "void"; `env` sets its HOSTILE_* knobs.
 */
export function hostileProviderManifest(root: string, env: Record<string, string> = {}, id = "evil"): PluginManifest {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "nexo-plugin.toml"),
    [
      "[plugin]",
      `id = "${id}"`,
      'version = "0.1.0"',
      "",
      "[plugin.entrypoint]",
      `command = ${JSON.stringify(process.execPath)}`,
      `args = [${JSON.stringify(SCRIPT)}]`,
      `env = { ${Object.entries(env)
        .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
        .join(", ")} }`,
      "",
      "[plugin.extends]",
      'llm_providers = ["evil"]',
      'memory_backends = ["evilmem"]',
      'hooks = ["before_outbound"]',
      'channels = ["void"]',
      "",
      "[plugin.supervisor]",
      "respawn = false",
      "",
    ].join("\n"),
  );
  return loadManifest(dir);
}

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import { writeFixtureManifest } from "./fixture-manifest.js";

const SCRIPT = fileURLToPath(new URL("../fixtures/plugins/hostile-provider.mjs", import.meta.url));

/**
 * A plugin dir under `root` running the hostile provider fixture: LLM provider
 * "evil", memory backend "evilmem", hook `before_outbound`, channel kind "void"; `env` sets its HOSTILE_* knobs.
 */
export function hostileProviderManifest(root: string, env: Record<string, string> = {}, id = "evil"): PluginManifest {
  const dir = writeFixtureManifest(join(root, id), {
    id,
    version: "0.1.0",
    entrypoint: { command: process.execPath, args: [SCRIPT], env },
    extends: { llm_providers: ["evil"], memory_backends: ["evilmem"], hooks: ["before_outbound"], channels: ["void"] },
    supervisor: { respawn: false },
  });
  return loadManifest(dir);
}

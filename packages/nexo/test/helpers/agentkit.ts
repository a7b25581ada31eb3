import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";
import { writeFixtureManifest } from "./fixture-manifest.js";

const SCRIPT = fileURLToPath(new URL("../fixtures/plugins/agentkit-plugin.mjs", import.meta.url));

/** A plugin dir under `root` running the agentkit fixture (LLM provider "scripted", memory backend "wordmem"), its manifest loaded as the host reads it. */
export async function agentkitManifest(root: string, id = "agentkit", providers = ["scripted"], backends = ["wordmem"]): Promise<PluginManifest> {
  const dir = writeFixtureManifest(join(root, id), {
    id,
    version: "0.1.0",
    entrypoint: { command: process.execPath, args: [SCRIPT] },
    extends: { llm_providers: providers, memory_backends: backends },
  });
  return loadManifest(dir);
}

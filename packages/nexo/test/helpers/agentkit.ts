import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadManifest, type PluginManifest } from "../../src/manifest/index.js";

const SCRIPT = fileURLToPath(new URL("../fixtures/plugins/agentkit-plugin.mjs", import.meta.url));

/** A plugin dir under `root` running the agentkit fixture (LLM provider "scripted", memory backend "wordmem"), its manifest loaded as the host reads it. */
export async function agentkitManifest(root: string, id = "agentkit", providers = ["scripted"], backends = ["wordmem"]): Promise<PluginManifest> {
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
      "",
      "[plugin.extends]",
      `llm_providers = ${JSON.stringify(providers)}`,
      `memory_backends = ${JSON.stringify(backends)}`,
      "",
    ].join("\n"),
  );
  return loadManifest(dir);
}

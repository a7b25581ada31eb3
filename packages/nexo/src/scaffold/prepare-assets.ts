import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { NEXO_VERSION } from "../version.js";
import { buildSdkArtifact, SDK_DIST_DIR, type SdkArtifact, type SdkLang } from "./sdk-artifacts.js";

// Never shipped: dependencies, build output of plugins, tests, caches.
const SKIP = new Set(["node_modules", "test", "tests", "target", "__pycache__", ".venv", "vendor", ".nexo-state", ".pytest_cache"]);

function copyTree(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const name = relative(from, src).split(/[\\/]/).pop() ?? "";
      return !SKIP.has(name) && !name.endsWith(".tsbuildinfo") && !name.endsWith(".pyc");
    },
  });
}

/** What `assets/assets.json` records: the nexo version and each SDK artifact's path relative to `assets/`. */
export interface AssetsIndex {
  nexoVersion: string;
  sdk: Record<SdkLang, SdkArtifact>;
}

/**
 * Fill `outDir` (the package's `assets/`) with everything an installed nexo
 * needs at run time, in the checkout's layout: `templates/`,
 * `conformance/vectors/`, the demo with the example plugins its config runs
 * (`examples/`, plus the Python SDK module the Python example imports from
 * `sdk/python/`), and the four SDK artifacts under `sdk-dist/`. Needs the
 * TypeScript build done (the examples' and the SDK's `dist/`).
 */
export async function prepareAssets(checkout: string, outDir: string, onLine?: (line: string) => void): Promise<AssetsIndex> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  copyTree(join(checkout, "templates"), join(outDir, "templates"));
  copyTree(join(checkout, "conformance", "vectors"), join(outDir, "conformance", "vectors"));

  const examples = join(checkout, "examples");
  copyTree(join(examples, "demo"), join(outDir, "examples", "demo"));
  const demo = parseYaml(readFileSync(join(examples, "demo", "nexo.yaml"), "utf8")) as { plugins?: Record<string, unknown> };
  const wanted = new Set(Object.keys(demo.plugins ?? {}));
  for (const e of readdirSync(examples, { withFileTypes: true })) {
    const manifest = join(examples, e.name, "nexo-plugin.toml");
    if (!e.isDirectory() || !existsSync(manifest)) continue;
    const id = (parseToml(readFileSync(manifest, "utf8")) as { plugin?: { id?: string } }).plugin?.id;
    if (id && wanted.has(id)) {
      copyTree(join(examples, e.name), join(outDir, "examples", e.name));
      wanted.delete(id);
    }
  }
  if (wanted.size) throw new Error(`the demo runs plugins with no example directory: ${[...wanted].join(", ")}`);
  copyTree(join(checkout, "sdk", "python", "nexo_plugin_sdk"), join(outDir, "sdk", "python", "nexo_plugin_sdk"));

  const sdkDir = join(outDir, SDK_DIST_DIR);
  const sdk = {} as Record<SdkLang, SdkArtifact>;
  for (const lang of ["ts", "python", "php", "rust"] as const) {
    onLine?.(`assets: ${lang} SDK`);
    const a = await buildSdkArtifact(lang, checkout, sdkDir, onLine);
    sdk[lang] = { ...a, path: relative(outDir, a.path) };
  }
  const index: AssetsIndex = { nexoVersion: NEXO_VERSION, sdk };
  writeFileSync(join(outDir, "assets.json"), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

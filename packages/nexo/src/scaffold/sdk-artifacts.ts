import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";
import { assetsRoot, checkoutRoot, isPackedAssets } from "../util/index.js";
import { runStep } from "./run-step.js";

/** The SDK languages, one artifact each. */
export type SdkLang = "ts" | "python" | "php" | "rust";

/**
 * One SDK as its ecosystem installs it: ts an npm tarball, python a wheel,
 * php a Composer package directory, rust a crate source directory.
 */
export interface SdkArtifact {
  lang: SdkLang;
  /** Absolute path of the tarball, wheel or package directory. */
  path: string;
  /** The SDK's version (for the scaffold's version range). */
  version: string;
  /** The name plugins depend on: npm/PyPI/Composer/crates.io. */
  distName: string;
}

/** Where the SDK artifacts sit inside `assets/`. */
export const SDK_DIST_DIR = "sdk-dist";

const SDK_SOURCES: Record<SdkLang, string> = { ts: "packages/plugin-sdk", python: "sdk/python", php: "sdk/php", rust: "sdk/rust" };
const DIST_NAMES: Record<SdkLang, string> = { ts: "nexo-plugin-sdk", python: "nexo-plugin-sdk", php: "nexo/plugin-sdk", rust: "nexo-plugin-sdk" };
// What a published package carries; tests and build output stay behind.
const SKIP = new Set(["node_modules", "tests", "test", "target", "__pycache__", ".pytest_cache", "build", "examples", "Cargo.lock"]);

/** The SDK version declared by a source tree (package.json, pyproject.toml, Cargo.toml; PHP follows the TS SDK). */
export function sdkSourceVersion(lang: SdkLang, checkout: string): string {
  const dir = join(checkout, SDK_SOURCES[lang]);
  if (lang === "ts" || lang === "php") {
    return (JSON.parse(readFileSync(join(checkout, SDK_SOURCES.ts, "package.json"), "utf8")) as { version: string }).version;
  }
  const file = join(dir, lang === "python" ? "pyproject.toml" : "Cargo.toml");
  const m = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(file, "utf8"));
  if (!m) throw new NexoError(ErrorCodes.SCAFFOLD_TEMPLATE_MISSING, `no version in ${file}`, { file });
  return m[1];
}

function copySource(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const name = relative(from, src).split(/[\\/]/).pop() ?? "";
      return !SKIP.has(name) && !name.endsWith(".tsbuildinfo") && !name.endsWith(".egg-info") && !name.endsWith(".pyc");
    },
  });
}

/**
 * Build one SDK artifact from a checkout into `outDir` and return it:
 * `npm pack` (ts, its `dist/` must be built), `pip wheel` without build
 * isolation (python, offline with the machine's setuptools), a copy of the
 * package without its tests (php, rust). Long steps report through `onLine`.
 */
export async function buildSdkArtifact(lang: SdkLang, checkout: string, outDir: string, onLine?: (line: string) => void): Promise<SdkArtifact> {
  mkdirSync(outDir, { recursive: true });
  const src = join(checkout, SDK_SOURCES[lang]);
  const version = sdkSourceVersion(lang, checkout);
  const base = { lang, version, distName: DIST_NAMES[lang] };
  if (lang === "ts") {
    // --ignore-scripts: the SDK's prepack would run tsc again; the caller built it.
    const out = await runStep("npm", ["pack", src, "--pack-destination", outDir, "--ignore-scripts", "--json", "--silent"], { cwd: outDir });
    if (!out) throw missingTool("npm", lang);
    const [{ filename }] = JSON.parse(out.stdout) as Array<{ filename: string }>;
    return { ...base, path: join(outDir, filename) };
  }
  if (lang === "python") {
    // Built from a copy so the checkout gets no build/ or *.egg-info.
    const work = join(outDir, ".src");
    rmSync(work, { recursive: true, force: true });
    copySource(src, work);
    const out = await runStep("python3", ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", "-w", outDir, work], {
      cwd: outDir,
      env: { PIP_DISABLE_PIP_VERSION_CHECK: "1" },
      ...(onLine ? { onLine } : {}),
    });
    rmSync(work, { recursive: true, force: true });
    if (!out) throw missingTool("python3", lang);
    const wheel = readdirSync(outDir).find((f) => f.startsWith("nexo_plugin_sdk-") && f.endsWith(".whl"));
    if (!wheel) throw new NexoError(ErrorCodes.SCAFFOLD_BUILD_FAILED, `pip wheel made no nexo_plugin_sdk wheel in ${outDir}`, { file: outDir });
    return { ...base, path: join(outDir, wheel) };
  }
  const dir = join(outDir, lang);
  rmSync(dir, { recursive: true, force: true });
  copySource(src, dir);
  return { ...base, path: dir };
}

function missingTool(tool: string, lang: SdkLang): NexoError {
  return new NexoError(ErrorCodes.SCAFFOLD_BUILD_FAILED, `${tool} is not installed: it builds the ${lang} SDK artifact`, { field: "lang" });
}

/** The artifacts an installed nexo carries, as recorded in `assets/assets.json` by the prepack step. */
function packedArtifact(lang: SdkLang): SdkArtifact {
  const root = assetsRoot();
  const index = JSON.parse(readFileSync(join(root, "assets.json"), "utf8")) as { sdk: Record<SdkLang, Omit<SdkArtifact, "path"> & { path: string }> };
  const entry = index.sdk[lang];
  return { ...entry, path: join(root, entry.path) };
}

/** A fingerprint of an SDK's source tree (names, sizes, mtimes), so dev builds are redone only after a change. */
function sourceStamp(dir: string): string {
  const hash = createHash("sha256");
  const walk = (sub: string): void => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (SKIP.has(e.name) || e.name.endsWith(".tsbuildinfo") || e.name.endsWith(".egg-info")) continue;
      const rel = join(sub, e.name);
      if (e.isDirectory()) walk(rel);
      else {
        const st = statSync(join(dir, rel));
        hash.update(`${rel}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  walk("");
  return hash.digest("hex").slice(0, 16);
}

/**
 * The SDK artifact `nexo plugin new` installs into a plugin: the packed one
 * when nexo is installed; in a checkout, one built from the current sources
 * into a cache under the OS temp dir (rebuilt after the sources change).
 */
export async function sdkArtifact(lang: SdkLang, onLine?: (line: string) => void): Promise<SdkArtifact> {
  if (isPackedAssets()) return packedArtifact(lang);
  const checkout = checkoutRoot();
  if (!checkout) throw new NexoError(ErrorCodes.SCAFFOLD_TEMPLATE_MISSING, `this nexo has neither packed assets nor a checkout: reinstall it`, {});
  const src = join(checkout, SDK_SOURCES[lang]);
  const cache = join(tmpdir(), "nexo-sdk-artifacts", `${lang}-${sourceStamp(src)}`);
  const done = join(cache, "artifact.json");
  if (existsSync(done)) return JSON.parse(readFileSync(done, "utf8")) as SdkArtifact;
  // Built beside the cache entry and renamed into place, so concurrent scaffolds never see half an artifact.
  const work = `${cache}.${process.pid}.${Date.now()}`;
  const built = await buildSdkArtifact(lang, checkout, work, onLine);
  const final = { ...built, path: join(cache, relative(work, built.path)) };
  writeFileSync(join(work, "artifact.json"), JSON.stringify(final));
  try {
    renameSync(work, cache);
  } catch {
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(done)) throw new NexoError(ErrorCodes.SCAFFOLD_BUILD_FAILED, `could not store the ${lang} SDK artifact in ${cache}`, { file: cache });
  }
  return JSON.parse(readFileSync(done, "utf8")) as SdkArtifact;
}

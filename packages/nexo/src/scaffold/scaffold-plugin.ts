import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";
import { ID_PATTERN } from "../manifest/index.js";
import { templatesDir } from "../util/index.js";
import { runStep } from "./run-step.js";
import { sdkArtifact, type SdkArtifact } from "./sdk-artifacts.js";

/** Languages `nexo plugin new` scaffolds, each from `templates/<lang>/`. */
export const SCAFFOLD_LANGS = ["ts", "python", "php", "rust"] as const;
export type ScaffoldLang = (typeof SCAFFOLD_LANGS)[number];

export interface ScaffoldOptions {
  /** The plugin id (also its channel kind): `^[a-z][a-z0-9_]{0,31}$`. */
  id: string;
  lang: string;
  /** Target directory; must not exist or be empty. Default `./<id>`. */
  dir?: string;
  /** The templates to render from (`<templates>/<lang>/`). Default: the ones this nexo ships. */
  templatesDir?: string;
  /**
   * Install the SDK and build now: ts `npm install` + `npm run build`, python a
   * `.venv` with the SDK wheel, rust `cargo build --release` (php needs no step).
   * Default true; when false the result's `nextSteps` name the commands.
   */
  build?: boolean;
  /** Progress of the long steps (SDK build, npm, pip, cargo), one line at a time. Default: silent. */
  onProgress?: (line: string) => void;
}

/** What was created. */
export interface ScaffoldResult {
  dir: string;
  lang: ScaffoldLang;
  /** Files rendered from the template, relative to `dir` (the vendored SDK and build output not listed). */
  files: string[];
  /** The SDK is installed and the plugin built (ts `dist/`, python `.venv`, rust binary; php always). */
  built: boolean;
  /** The SDK the plugin depends on, as vendored into it. */
  sdk: { distName: string; version: string; vendored: string };
  /** Commands to run next, for the CLI to print. */
  nextSteps: string[];
}

// Templates name dotfiles without the dot, so packing nexo never reads them as its own ignore rules.
const DOTFILES: Record<string, string> = { gitignore: ".gitignore" };
const SKIP = new Set(["node_modules", "dist", "__pycache__", ".nexo-state", "target", ".venv", "vendor"]);

function listTemplate(root: string, sub = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, sub), { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.endsWith(".tsbuildinfo")) continue;
    const rel = sub ? join(sub, e.name) : e.name;
    if (e.isDirectory()) out.push(...listTemplate(root, rel));
    else out.push(rel);
  }
  return out.sort();
}

function render(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (m, name: string) => vars[name] ?? m);
}

/**
 * Create a working plugin from `templates/<lang>/`: the id filled into the
 * manifest, entrypoint, README and test, and the SDK as its ecosystem installs
 * it, from the artifact this nexo ships (so it works offline and never points
 * into a nexo install or checkout):
 * - ts: `"nexo-plugin-sdk": "^x.y.z"`, the SDK tarball in `vendor/` installed
 *   with `npm install --no-save`, then `npm run build`;
 * - python: `requirements.txt` naming `nexo-plugin-sdk`, the wheel in `vendor/`,
 *   a `.venv` it is installed into, the manifest's entrypoint that venv's python;
 * - php: `composer.json` requiring `nexo/plugin-sdk`, the package vendored at
 *   `vendor/nexo/plugin-sdk` with a `vendor/autoload.php` (no Composer needed to run);
 * - rust: `nexo-plugin-sdk = "x.y"` patched to the crate vendored at
 *   `vendor/nexo-plugin-sdk`, then `cargo build --release`.
 * Throws NEXO_ERR_SCAFFOLD_* for a bad id, language or target, or a failed build step.
 */
export async function scaffoldPlugin(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { id } = options;
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new NexoError(
      ErrorCodes.SCAFFOLD_INVALID_ID,
      `plugin id ${JSON.stringify(id)} must match ${ID_PATTERN} (lowercase letter first, then lowercase letters, digits or _; at most 32)`,
      {
        field: "id",
      },
    );
  }
  if (!(SCAFFOLD_LANGS as readonly string[]).includes(options.lang)) {
    throw new NexoError(ErrorCodes.SCAFFOLD_UNKNOWN_LANG, `--lang ${JSON.stringify(options.lang)} is not one of ${SCAFFOLD_LANGS.join(", ")}`, { field: "lang" });
  }
  const lang = options.lang as ScaffoldLang;
  const templateDir = join(resolve(options.templatesDir ?? templatesDir()), lang);
  if (!existsSync(templateDir)) {
    throw new NexoError(ErrorCodes.SCAFFOLD_TEMPLATE_MISSING, `no template at ${templateDir}: this nexo install is incomplete (reinstall it)`, { file: templateDir });
  }
  const dir = resolve(options.dir ?? id);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new NexoError(ErrorCodes.SCAFFOLD_TARGET_EXISTS, `${dir} already exists and is not an empty directory; choose another --dir`, { file: dir });
  }
  const progress = options.onProgress;
  const sdk = await sdkArtifact(lang, progress);
  const vars = { id, sdk_version: sdk.version };
  const files = listTemplate(templateDir).map((rel) => {
    const out = join(dirname(rel), DOTFILES[basename(rel)] ?? basename(rel));
    const target = join(dir, out);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, render(readFileSync(join(templateDir, rel), "utf8"), vars));
    return out;
  });
  const vendored = vendorSdk(lang, sdk, dir);
  const here = relative(process.cwd(), dir) || ".";
  const cd = `cd ${here} && `;
  const build = options.build !== false;
  let built = lang === "php";
  const nextSteps: string[] = [];
  if (lang === "ts") {
    if (build) {
      await step("npm", ["install", "--no-save", "--prefer-offline", "--no-audit", "--no-fund", `./${vendored}`], dir, progress);
      await step("npm", ["run", "build"], dir, progress);
      built = true;
    } else nextSteps.push(`${cd}npm install --no-save ./${vendored} && npm run build`);
  } else if (lang === "python") {
    const pip = ["-m", "pip", "install", "--disable-pip-version-check", "--no-index", "--find-links", "vendor", "-r", "requirements.txt"];
    if (build) {
      await step("python3", ["-m", "venv", ".venv"], dir, progress);
      await step(join(".venv", "bin", "python"), pip, dir, progress);
      built = true;
    } else nextSteps.push(`${cd}python3 -m venv .venv && .venv/bin/python ${pip.join(" ")}`);
  } else if (lang === "rust") {
    if (build) built = await cargoBuild(id, dir, progress);
    if (!built) nextSteps.push(`${cd}cargo build --release`);
  }
  nextSteps.push(`nexo plugin test ${here}`);
  return { dir, lang, files, built, sdk: { distName: sdk.distName, version: sdk.version, vendored }, nextSteps };
}

/** Copy the SDK artifact into the plugin's `vendor/`; returns its path relative to the plugin. */
function vendorSdk(lang: ScaffoldLang, sdk: SdkArtifact, dir: string): string {
  const vendor = join(dir, "vendor");
  mkdirSync(vendor, { recursive: true });
  if (lang === "ts" || lang === "python") {
    copyFileSync(sdk.path, join(vendor, basename(sdk.path)));
    return `vendor/${basename(sdk.path)}`;
  }
  if (lang === "php") {
    cpSync(sdk.path, join(vendor, "nexo", "plugin-sdk"), { recursive: true });
    // What Composer's own vendor/autoload.php would do for this one package; `composer install` replaces it.
    writeFileSync(
      join(vendor, "autoload.php"),
      "<?php\n\n// The vendored nexo/plugin-sdk, loaded like Composer's autoloader would (composer install regenerates this file).\n\ndeclare(strict_types=1);\n\nrequire_once __DIR__ . '/nexo/plugin-sdk/autoload.php';\n",
    );
    return "vendor/nexo/plugin-sdk";
  }
  cpSync(sdk.path, join(vendor, "nexo-plugin-sdk"), { recursive: true });
  return "vendor/nexo-plugin-sdk";
}

async function step(cmd: string, args: string[], cwd: string, progress?: (line: string) => void): Promise<void> {
  progress?.(`$ ${[cmd, ...args].join(" ")}`);
  const out = await runStep(cmd, args, { cwd, ...(progress ? { onLine: (l: string) => progress(`  ${l}`) } : {}) });
  if (!out) throw new NexoError(ErrorCodes.SCAFFOLD_BUILD_FAILED, `${cmd} is not installed; it is needed to set up this plugin (or pass --no-build)`, { file: cwd });
}

/**
 * `cargo build --release` in a scaffolded Rust plugin, cargo's own
 * "Compiling ..." lines as progress. The manifest's entrypoint is
 * `target/release/<id>`: when CARGO_TARGET_DIR puts the binary elsewhere it is
 * copied there. False when cargo is not installed.
 */
async function cargoBuild(id: string, dir: string, progress?: (line: string) => void): Promise<boolean> {
  progress?.("$ cargo build --release");
  const out = await runStep("cargo", ["build", "--release", "--color", "never"], { cwd: dir, ...(progress ? { onLine: (l: string) => progress(`  ${l}`) } : {}) });
  if (!out) return false;
  const wanted = join(dir, "target", "release", id);
  const targetDir = process.env.CARGO_TARGET_DIR;
  if (!existsSync(wanted) && targetDir) {
    const built = join(isAbsolute(targetDir) ? targetDir : join(dir, targetDir), "release", id);
    mkdirSync(dirname(wanted), { recursive: true });
    copyFileSync(built, wanted);
    chmodSync(wanted, 0o755);
  }
  return true;
}

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCodes, NexoError } from "../errors.js";
import { ID_PATTERN } from "../manifest/index.js";

/** Languages `nexo plugin new` scaffolds, each from `templates/<lang>/`. */
export const SCAFFOLD_LANGS = ["ts", "python", "php", "rust"] as const;
export type ScaffoldLang = (typeof SCAFFOLD_LANGS)[number];

export interface ScaffoldOptions {
  /** The plugin id (also its channel kind): `^[a-z][a-z0-9_]{0,31}$`. */
  id: string;
  lang: string;
  /** Target directory; must not exist or be empty. Default `./<id>`. */
  dir?: string;
  /** The nexo checkout holding `templates/`, `sdk/python` and `packages/plugin-sdk`. Default: the one this module belongs to. */
  repoRoot?: string;
  /** ts only: compile `dist/` right away with nexo's TypeScript. Default true. */
  build?: boolean;
}

/** What was created. */
export interface ScaffoldResult {
  dir: string;
  lang: ScaffoldLang;
  /** Files written, relative to `dir`. */
  files: string[];
  /** ts: `dist/` was compiled (else the next step is `npm install && npm run build`). */
  built: boolean;
  /** Commands to run next, for the CLI to print. */
  nextSteps: string[];
}

/** The nexo checkout this module runs from (same relative place from `src/` and `dist/`). */
export function defaultRepoRoot(): string {
  return fileURLToPath(new URL("../../../../", import.meta.url));
}

const SKIP = new Set(["node_modules", "dist", "__pycache__", ".nexo-state"]);

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
 * manifest, entrypoint, README and test. For ts the SDK of this nexo checkout
 * is linked in as a `file:` dependency (`node_modules/nexo-plugin-sdk`, as
 * `npm install` would link it) and `dist/` is compiled with nexo's own
 * TypeScript, so the plugin runs and passes `nexo plugin test` at once, with
 * no network. For python, `main.py` falls back to this checkout's SDK when
 * `nexo_plugin_sdk` is not installed.
 * Throws NEXO_ERR_SCAFFOLD_* for a bad id, language or target.
 */
export async function scaffoldPlugin(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { id } = options;
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new NexoError(ErrorCodes.SCAFFOLD_INVALID_ID, `plugin id ${JSON.stringify(id)} must match ${ID_PATTERN} (lowercase letter first, then lowercase letters, digits or _; at most 32)`, {
      field: "id",
    });
  }
  if (!(SCAFFOLD_LANGS as readonly string[]).includes(options.lang)) {
    throw new NexoError(ErrorCodes.SCAFFOLD_UNKNOWN_LANG, `--lang ${JSON.stringify(options.lang)} is not one of ${SCAFFOLD_LANGS.join(", ")}`, { field: "lang" });
  }
  const lang = options.lang as ScaffoldLang;
  const repo = resolve(options.repoRoot ?? defaultRepoRoot());
  const templateDir = join(repo, "templates", lang);
  if (!existsSync(templateDir)) {
    throw new NexoError(ErrorCodes.SCAFFOLD_TEMPLATE_MISSING, `no template at ${templateDir}: nexo plugin new needs the nexo checkout's templates/`, { file: templateDir });
  }
  const dir = resolve(options.dir ?? id);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new NexoError(ErrorCodes.SCAFFOLD_TARGET_EXISTS, `${dir} already exists and is not an empty directory; choose another --dir`, { file: dir });
  }
  const sdkTs = join(repo, "packages", "plugin-sdk");
  // Python, PHP and Rust templates name their SDK by path: this checkout's.
  const sdkPath = join(repo, "sdk", lang === "ts" ? "python" : lang);
  const vars = {
    id,
    sdk_path: sdkPath,
    sdk_dependency: `file:${sdkTs}`,
  };
  const files = listTemplate(templateDir);
  for (const rel of files) {
    const target = join(dir, rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, render(readFileSync(join(templateDir, rel), "utf8"), vars));
  }
  let built = false;
  const nextSteps = [`nexo plugin test ${relative(process.cwd(), dir) || "."}`];
  if (lang === "ts") {
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    symlinkSync(sdkTs, join(dir, "node_modules", "nexo-plugin-sdk"), "dir");
    if (options.build !== false) built = await compileTs(dir);
    if (!built) nextSteps.unshift(`cd ${relative(process.cwd(), dir) || "."} && npm install && npm run build`);
  }
  if (lang === "rust") {
    if (options.build !== false) built = await cargoBuild(dir);
    if (!built) nextSteps.unshift(`cd ${relative(process.cwd(), dir) || "."} && cargo build --release`);
  }
  return { dir, lang, files, built, nextSteps };
}

/**
 * `cargo build --release` in a scaffolded Rust plugin (the manifest's entrypoint
 * is `target/release/<id>`). False when cargo is not installed; throws
 * NEXO_ERR_SCAFFOLD_BUILD_FAILED with cargo's output tail when the build fails.
 */
async function cargoBuild(dir: string): Promise<boolean> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolveBuild, reject) => {
    const child = spawn("cargo", ["build", "--release", "--quiet"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let tail = "";
    child.stderr.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
    child.once("error", () => resolveBuild(false));
    child.once("close", (code) => {
      if (code === 0) resolveBuild(true);
      else reject(new NexoError(ErrorCodes.SCAFFOLD_BUILD_FAILED, `cargo build --release failed in ${dir} (exit ${code}):\n${tail.trim()}`, { file: dir }));
    });
  });
}

/**
 * Compile a scaffolded TS plugin with the TypeScript compiler nexo was
 * installed with, using nexo's `@types` so no `npm install` is needed.
 * Returns false when no compiler is available here; throws NEXO_ERR_SCAFFOLD_BUILD_FAILED on type errors.
 */
async function compileTs(dir: string): Promise<boolean> {
  let ts: typeof import("typescript");
  let typesRoot: string;
  try {
    const url = import.meta.resolve("typescript");
    ts = ((await import("typescript")) as { default: typeof import("typescript") }).default;
    // .../node_modules/typescript/lib/typescript.js -> .../node_modules/@types
    typesRoot = join(dirname(dirname(dirname(fileURLToPath(url)))), "@types");
  } catch {
    return false;
  }
  const configFile = join(dir, "tsconfig.json");
  const read = ts.readConfigFile(configFile, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dir, { typeRoots: [typesRoot] }, configFile);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const emitted = program.emit();
  const problems = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (problems.length) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => dir, getNewLine: () => "\n" };
    throw new NexoError(ErrorCodes.SCAFFOLD_BUILD_FAILED, `the scaffolded plugin in ${dir} does not compile:\n${ts.formatDiagnostics(problems, host)}`, { file: dir });
  }
  return true;
}

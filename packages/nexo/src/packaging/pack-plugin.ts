import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { create as createTar } from "tar";
import { ErrorCodes, NexoError } from "../errors.js";
import { loadManifest, type PluginManifest } from "../manifest/index.js";
import { NEXO_VERSION } from "../version.js";
import { collectFiles, listTree } from "./collect-files.js";
import { entrypointPaths } from "./entrypoint-files.js";
import { isNativeBinary, nativeTarget } from "./native-binary.js";
import { bundleNodeEntry } from "./node-bundle.js";
import { packageFiles, resolveNodeDependencies } from "./node-dependencies.js";
import { PACKAGE_FORMAT, PACKAGE_MANIFEST, type PackagedFile, type PackageManifest } from "./package-manifest.js";
import { findPhpSdk, VENDOR_AUTOLOAD } from "./php-sdk.js";
import { findPythonSdk, pluginVirtualenv, virtualenvPackages } from "./python-sdk.js";
import { launcherScript, releaseManifest, withEntrypointCommand } from "./release-layout.js";
import { hostTarget, NOARCH, releaseArchiveName } from "./target.js";

/** Language runtime a plugin's entrypoint needs, as the pack sees it. */
export type PackRuntime = "node" | "python" | "php" | "native" | "other";

export interface PackPluginOptions {
  /** Where the archive goes. Default: the current directory. */
  outDir?: string;
  /** Node plugins: ship the run-time dependency tree in `node_modules/` instead of bundling with esbuild. Default false. */
  withNodeModules?: boolean;
  /** `nexo` (default): `<id>-<version>[-<triple>].tgz`, the plugin directory as is. `release`: upstream's `<id>-<version>-<target>.tar.gz` with `bin/<id>` and a `.sha256` beside it. */
  format?: "nexo" | "release";
}

/** What `packPlugin` produced. */
export interface PackResult {
  file: string;
  sha256: string;
  manifest: PackageManifest;
  runtime: PackRuntime;
  /** Rust triple (compiled plugins and release archives) or `noarch`; null for a scripting-language nexo pack. */
  target: string | null;
  /** The `<archive>.sha256` written beside a release archive, else null. */
  checksumFile: string | null;
}

/**
 * Pack a plugin so it runs on a machine with only nexo and its language
 * runtime. The manifest is validated; Node plugins are bundled into their
 * entry file with esbuild (or ship their real dependency tree with
 * `withNodeModules`); Python and PHP plugins get the SDK they import vendored
 * beside them; compiled plugins carry their binary and name their target
 * triple. A plugin that could not run elsewhere (no binary, an entrypoint or
 * a dependency outside the plugin directory) is refused with
 * NEXO_ERR_PACKAGE_NOT_PORTABLE. Every file is listed with its SHA-256 in
 * `nexo-package.json`, the archive's first entry, and archives are
 * reproducible (sorted, fixed mtime, no owner).
 */
export async function packPlugin(dir: string, options: PackPluginOptions = {}): Promise<PackResult> {
  const root = resolve(dir);
  const manifest = loadManifest(root);
  const paths = entrypointPaths(manifest);
  for (const p of paths) {
    if (p.relative !== null) continue;
    const hint = p.where === "command" ? "use a bare name found on PATH (node, python3, php) or a path inside the plugin" : "move the file into the plugin directory";
    throw notPortable(root, `entrypoint ${p.where} ${JSON.stringify(p.written)} is outside the plugin directory, so it would not exist on another machine; ${hint}`);
  }
  const runtime = detectRuntime(root, manifest);
  const staging = mkdtempSync(join(tmpdir(), "nexo-pack-"));
  try {
    const tree = join(staging, "tree");
    const withVendor = runtime.kind === "php" && existsSync(join(root, "vendor", "autoload.php"));
    for (const rel of collectFiles(root, { followLinksUnder: withVendor ? ["vendor"] : [] })) copyInto(join(root, rel), join(tree, rel));
    let target: string | null = null;
    let command = manifest.entrypoint.command;

    if (runtime.kind === "native") {
      const bin = paths.find((p) => p.where === "command")!.relative!;
      if (!existsSync(join(root, bin))) {
        const how = existsSync(join(root, "Cargo.toml")) ? " (cargo build --release)" : "";
        throw notPortable(root, `the entrypoint binary ${bin} does not exist; build it first${how}, then pack`);
      }
      copyInto(join(root, bin), join(tree, bin)); // build output directories are excluded, the entrypoint binary is not
      target = nativeTarget(root, bin);
    } else if (runtime.kind === "node" && runtime.entry) {
      if (options.withNodeModules) {
        for (const dep of resolveNodeDependencies(root)) {
          for (const rel of packageFiles(dep.from, listTree(dep.from, new Set(["node_modules", ".git"])))) copyInto(join(dep.from, rel), join(tree, dep.at, rel));
        }
      } else {
        await bundleNodeEntry(root, runtime.entry, join(tree, runtime.entry));
        rmSync(join(tree, `${runtime.entry}.map`), { force: true }); // it maps the unbundled file
      }
    } else if (runtime.kind === "python" && runtime.entry) {
      command = vendorPython(root, manifest, runtime.entry, tree);
    } else if (runtime.kind === "php" && runtime.entry) {
      vendorPhpSdk(root, runtime.entry, tree);
    }

    const packed = { ...manifest.entrypoint, command };
    for (const p of entrypointPaths({ entrypoint: packed })) {
      const full = join(tree, p.relative!);
      if (!existsSync(full) || !statSync(full).isFile()) {
        throw notPortable(
          root,
          `entrypoint ${p.where} ${p.relative} would not be in the pack (${existsSync(join(root, p.relative!)) ? "it is in an excluded directory such as a virtualenv or build output" : "it does not exist"})`,
        );
      }
    }

    const outDir = resolve(options.outDir ?? ".");
    mkdirSync(outDir, { recursive: true });
    if (options.format === "release") return await writeRelease(manifest, packed, runtime, tree, staging, outDir, target);
    const name = target ? `${manifest.id}-${manifest.version}-${target}.tgz` : `${manifest.id}-${manifest.version}.tgz`;
    const { file, sha256, listing } = await writeArchive(tree, manifest, join(outDir, name));
    return { file, sha256, manifest: listing, runtime: runtime.kind, target, checksumFile: null };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Vendor what a Python plugin imports beside its entry file, where Python
 * looks first: the SDK its interpreter resolves, or everything its own
 * virtualenv installed (the venv cannot move, so the pack then starts plain
 * `python3`). Returns the command the packed manifest runs.
 */
function vendorPython(root: string, manifest: PluginManifest, entry: string, tree: string): string {
  const command = manifest.entrypoint.command;
  const beside = join(tree, dirname(entry));
  const copyPackage = (fromDir: string, name: string): void => {
    const from = join(fromDir, name);
    const rels = statSync(from).isDirectory() ? listTree(from, new Set(["__pycache__"])).map((r) => `${name}/${r}`) : [name];
    for (const rel of rels) if (!/\.py[co]$/.test(rel)) copyInto(join(fromDir, rel), join(beside, rel));
  };
  if (pluginVirtualenv(root, command)) {
    const site = virtualenvPackages(root, command, manifest.entrypoint.env);
    for (const name of site.names) if (!existsSync(join(beside, name))) copyPackage(site.dir, name);
    writeFileSync(join(tree, basename(manifest.file)), withEntrypointCommand(readFileSync(manifest.file, "utf8"), "python3"));
    return "python3";
  }
  const sdk = findPythonSdk(root, command, entry, manifest.entrypoint.env);
  if (sdk && !existsSync(join(beside, "nexo_plugin_sdk", "__init__.py"))) copyPackage(dirname(sdk), basename(sdk));
  return command;
}

/** Copy the PHP SDK an entry file loads from outside the plugin to `vendor/nexo/plugin-sdk/`, behind a `vendor/autoload.php`. */
function vendorPhpSdk(root: string, entry: string, tree: string): void {
  const sdk = findPhpSdk(root, entry);
  if (!sdk) return;
  const into = join(tree, "vendor", "nexo", "plugin-sdk");
  for (const rel of listTree(sdk, new Set(["vendor", "tests", ".git", "node_modules"]))) {
    if (rel === "autoload.php" || rel === "composer.json" || rel.startsWith("src/") || /^(LICENSE|README)/.test(rel)) copyInto(join(sdk, rel), join(into, rel));
  }
  writeFileSync(join(tree, "vendor", "autoload.php"), VENDOR_AUTOLOAD);
}

/** Upstream's layout: manifest and `bin/<id>` at the root; a scripting language's files under `lib/`, started by a launcher. */
async function writeRelease(
  manifest: PluginManifest,
  entrypoint: { command: string; args: string[] },
  runtime: { kind: PackRuntime },
  tree: string,
  staging: string,
  outDir: string,
  nativeTriple: string | null,
): Promise<PackResult> {
  const out = join(staging, "release");
  const manifestName = basename(manifest.file);
  const files = listTree(tree, new Set());
  let target: string;
  if (runtime.kind === "native") {
    const bin = entrypointPaths(manifest).find((p) => p.where === "command")!.relative!;
    for (const rel of files) {
      if (rel === bin || rel === manifestName || rel === "Cargo.toml" || rel === "Cargo.lock" || rel.startsWith("src/")) continue;
      copyInto(join(tree, rel), join(out, rel));
    }
    copyInto(join(tree, bin), join(out, "bin", manifest.id));
    writeFileSync(join(out, manifestName), releaseManifest(readFileSync(manifest.file, "utf8"), manifest.id, ""));
    target = nativeTriple ?? hostTarget();
  } else {
    for (const rel of files) copyInto(join(tree, rel), join(out, "lib", rel));
    mkdirSync(join(out, "bin"), { recursive: true });
    writeFileSync(join(out, "bin", manifest.id), launcherScript(manifest.id, entrypoint.command, entrypoint.args), { mode: 0o755 });
    writeFileSync(join(out, manifestName), releaseManifest(readFileSync(manifest.file, "utf8"), manifest.id, "lib/"));
    // A native addon or extension module among the dependencies ties the archive to this machine's kind.
    target = files.some((f) => f.endsWith(".node") || /\.(so|pyd|dylib)$/.test(f)) ? hostTarget() : NOARCH;
  }
  chmodSync(join(out, "bin", manifest.id), 0o755);
  const { file, sha256, listing } = await writeArchive(out, manifest, join(outDir, releaseArchiveName(manifest.id, manifest.version, target)));
  const checksumFile = `${file}.sha256`;
  writeFileSync(checksumFile, `${sha256}\n`);
  return { file, sha256, manifest: listing, runtime: runtime.kind, target, checksumFile };
}

/** Write `nexo-package.json` into `dir` and tar it first, then every file, sorted, reproducibly. */
async function writeArchive(dir: string, manifest: PluginManifest, file: string): Promise<{ file: string; sha256: string; listing: PackageManifest }> {
  const files = listTree(dir, new Set()).filter((f) => f !== PACKAGE_MANIFEST);
  const entries: PackagedFile[] = files.map((rel) => {
    const full = join(dir, rel);
    const st = statSync(full);
    return { path: rel, size: st.size, sha256: sha256(readFileSync(full)), executable: (st.mode & 0o111) !== 0 };
  });
  const listing: PackageManifest = { format: PACKAGE_FORMAT, id: manifest.id, version: manifest.version, packedBy: NEXO_VERSION, files: entries };
  writeFileSync(join(dir, PACKAGE_MANIFEST), `${JSON.stringify(listing, null, 2)}\n`);
  await createTar({ gzip: { level: 9 }, file, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, [PACKAGE_MANIFEST, ...files]);
  return { file, sha256: sha256(readFileSync(file)), listing };
}

function detectRuntime(root: string, manifest: PluginManifest): { kind: PackRuntime; entry?: string } {
  const command = manifest.entrypoint.command;
  const name = basename(command);
  const args = entrypointPaths(manifest).filter((p) => p.where !== "command");
  const first = (re: RegExp): string | undefined => args.find((p) => re.test(p.relative ?? ""))?.relative ?? undefined;
  if (/^node(js)?$/.test(name)) return { kind: "node", ...optional(first(/\.(m?js|cjs)$/)) };
  if (/^python(\d+(\.\d+)?)?$/.test(name)) return { kind: "python", ...optional(first(/\.py$/)) };
  if (/^php(\d+(\.\d+)?)?$/.test(name)) return { kind: "php", ...optional(first(/\.php$/)) };
  if (command.includes("/")) {
    const full = resolve(root, command);
    if (isNativeBinary(full) || (!existsSync(full) && existsSync(join(root, "Cargo.toml")))) return { kind: "native" };
  }
  return { kind: "other" };
}

function optional(entry: string | undefined): { entry?: string } {
  return entry ? { entry } : {};
}

function copyInto(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, statSync(from).mode & 0o111 ? 0o755 : 0o644);
}

function notPortable(root: string, why: string): NexoError {
  return new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `${basename(root)}: ${why}`, { file: root });
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

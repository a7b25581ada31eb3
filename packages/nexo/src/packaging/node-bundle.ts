import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";
import { ErrorCodes, NexoError } from "../errors.js";

/** Module format Node uses for `file`: by extension, else the nearest package.json `type`, stopping at `root`. */
export function nodeModuleFormat(file: string, root: string): "esm" | "cjs" {
  if (file.endsWith(".mjs")) return "esm";
  if (file.endsWith(".cjs")) return "cjs";
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, "utf8")) as { type?: string }).type === "module" ? "esm" : "cjs";
      } catch {
        return "cjs";
      }
    }
    if (dir === root || dirname(dir) === dir) return "cjs";
  }
}

/**
 * Bundle a Node plugin's entry file and everything it imports (the SDK and
 * every dependency, wherever npm hoisted it) into one file at `outFile`,
 * with esbuild. The result needs only `node`. An import esbuild cannot
 * resolve or load (a missing package, a native `.node` addon) refuses the
 * pack with esbuild's message; `--with-node-modules` is the way to ship those.
 */
export async function bundleNodeEntry(root: string, entry: string, outFile: string): Promise<void> {
  const input = resolve(root, entry);
  const format = nodeModuleFormat(input, root);
  try {
    await build({
      entryPoints: [input],
      outfile: outFile,
      absWorkingDir: root,
      bundle: true,
      platform: "node",
      target: "node20",
      format,
      // Bundled CommonJS dependencies may still call require() for Node built-ins; ESM has no require of its own.
      ...(format === "esm" ? { banner: { js: 'import { createRequire as __nexoCreateRequire } from "node:module";\nconst require = __nexoCreateRequire(import.meta.url);' } } : {}),
      allowOverwrite: true,
      logLevel: "silent",
      legalComments: "eof",
      sourcemap: false,
      write: true,
    });
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors ?? [];
    const detail = errors.length
      ? errors
          .slice(0, 5)
          .map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text))
          .join("; ")
      : (err as Error).message;
    throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `cannot bundle ${entry}: ${detail}. Install the plugin's dependencies (npm install) or pack with --with-node-modules`, {
      file: input,
      cause: err,
    });
  }
}

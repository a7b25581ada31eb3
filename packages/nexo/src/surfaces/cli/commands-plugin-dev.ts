import type { Command } from "commander";
import { ErrorCodes, NexoError } from "../../errors.js";
import { CLI_SCAFFOLD_LANGS } from "./choices.js";

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function number(name: string, integer: boolean): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new NexoError(ErrorCodes.CONFORMANCE_INVALID_OPTIONS, `${name} must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(value)}`, { field: name });
    }
    return n;
  };
}

/** `nexo plugin test <dir>` and `nexo plugin new <id>`: plugin development, no daemon needed. */
export function registerPluginDevCommands(plugin: Command): void {
  plugin
    .command("test <dir>")
    .description("run a plugin through every conformance vector (no daemon needed); exit 1 if any fails")
    .option("--tags <tags>", "behaviours the plugin declares, comma-separated (default: tags of its nexo-conformance.toml)", list)
    .option("--only <ids>", "run only these vectors, comma-separated", list)
    .option("--vectors <dir>", "vector directory (default: the vectors shipped with nexo)")
    .option("-j, --jobs <n>", "vectors run at once, each against its own process (default: min(4, cores))", number("--jobs", true))
    .option("--time-scale <x>", "multiply every deadline and window, for slow machines (default 1)", number("--time-scale", false))
    .option("--json", "print the report as one JSON object instead of lines")
    .action(async (dir: string, opts: { tags?: string[]; only?: string[]; vectors?: string; jobs?: number; timeScale?: number; json?: boolean }) => {
      const { formatHeader, formatResult, formatSummary, runConformance } = await import("../../conformance/index.js");
      const report = await runConformance({
        pluginDir: dir,
        ...(opts.tags ? { tags: opts.tags } : {}),
        ...(opts.only ? { only: opts.only } : {}),
        ...(opts.vectors ? { vectorsDir: opts.vectors } : {}),
        ...(opts.jobs ? { jobs: opts.jobs } : {}),
        ...(opts.timeScale ? { timeScale: opts.timeScale } : {}),
        onWarning: (w) => process.stderr.write(`warning: ${w}\n`),
        ...(opts.json
          ? {}
          : {
              onStart: (plugin, count) => process.stdout.write(`${formatHeader(plugin, count)}\n`),
              onResult: (r) => process.stdout.write(`${formatResult(r)}\n`),
            }),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSummary(report)}\n`);
      if (report.failed > 0) process.exitCode = 1;
    });

  plugin
    .command("new <id>")
    .description("create a working plugin from the templates (manifest, entrypoint, README, a test); passes `nexo plugin test` at once")
    .requiredOption("-l, --lang <lang>", `language: ${CLI_SCAFFOLD_LANGS.join(" | ")}`)
    .option("-d, --dir <dir>", "where to create it (default ./<id>; must not exist or be empty)")
    .option("--no-build", "do not install the SDK or build now (ts: npm install + build; python: .venv; rust: cargo build --release); print the commands instead")
    .action(async (id: string, opts: { lang: string; dir?: string; build: boolean }) => {
      const { scaffoldPlugin } = await import("../../scaffold/index.js");
      // Progress of the long steps (npm install, venv + pip, cargo build) goes to stderr as it happens.
      const r = await scaffoldPlugin({ id, lang: opts.lang, ...(opts.dir ? { dir: opts.dir } : {}), build: opts.build, onProgress: (line) => process.stderr.write(`${line}\n`) });
      const built: Record<string, string> = {
        ts: "node_modules/ and dist/ (npm install, npm run build)",
        python: ".venv/ with the SDK installed",
        php: "",
        rust: "target/release/ (cargo build --release)",
      };
      process.stdout.write(
        [
          `created ${r.lang} plugin ${id} in ${r.dir}`,
          ...r.files.map((f) => `  ${f}`),
          `  ${r.sdk.vendored} (${r.sdk.distName} ${r.sdk.version}, shipped with nexo)`,
          ...(r.built && built[r.lang] ? [`  ${built[r.lang]}`] : []),
          "next:",
          ...r.nextSteps.map((s) => `  ${s}`),
          "",
        ].join("\n"),
      );
    });
}

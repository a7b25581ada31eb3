import type { Command } from "commander";

/** `nexo manifest validate <path>`: check a plugin manifest against every contract rule. */
export function registerManifestCommands(program: Command): void {
  const manifest = program.command("manifest").description("plugin manifests");
  manifest
    .command("validate <path>")
    .description("validate a plugin.toml / nexo-plugin.toml (file or plugin directory; a directory with only bin/<id> is asked --print-manifest)")
    .action(async (path: string) => {
      const { formatManifestReport, loadPluginManifest, ManifestError } = await import("../../manifest/index.js");
      try {
        const m = await loadPluginManifest(path);
        process.stdout.write(`${formatManifestReport(m)}\n`);
      } catch (err) {
        if (err instanceof ManifestError) {
          process.stderr.write(`${formatManifestReport(err)}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}

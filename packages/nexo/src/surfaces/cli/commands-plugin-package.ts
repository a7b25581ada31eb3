import { resolve } from "node:path";
import type { Command } from "commander";
import { installPlugin, packPlugin, uninstallPlugin } from "../../packaging/index.js";

/** Default install directory; add it to `plugin_paths` in nexo.yaml. */
export const DEFAULT_INSTALL_DIR = "plugins";

/** `nexo plugin pack|install|uninstall`: ship plugins as checked archives. No daemon needed. */
export function registerPackageCommands(plugin: Command): void {
  plugin
    .command("pack <dir>")
    .description("pack a plugin directory into <id>-<version>.tgz with a SHA-256 per file")
    .option("-o, --out <dir>", "where to write the .tgz", ".")
    .option("--with-node-modules", "include node_modules (needed for a Node plugin that is not bundled)")
    .action(async (dir: string, opts: { out: string; withNodeModules?: boolean }) => {
      const r = await packPlugin(dir, { outDir: opts.out, withNodeModules: opts.withNodeModules ?? false });
      process.stdout.write(`${r.file}\nsha256 ${r.sha256}\n${r.manifest.files.length} files, ${r.manifest.id} ${r.manifest.version}\n`);
    });

  plugin
    .command("install <package>")
    .description("install a .tgz made by `nexo plugin pack` (verified file by file) into a plugin directory")
    .option("--into <dir>", "plugin directory to install into (one of plugin_paths)", DEFAULT_INSTALL_DIR)
    .option("--force", "replace an installed plugin with the same id")
    .option("--sha256 <hex>", "refuse the package unless its SHA-256 is this")
    .action(async (pkg: string, opts: { into: string; force?: boolean; sha256?: string }) => {
      const r = await installPlugin(pkg, { into: opts.into, force: opts.force ?? false, ...(opts.sha256 ? { expectedSha256: opts.sha256 } : {}) });
      process.stdout.write(`installed ${r.id} ${r.version} in ${r.dir}${r.replaced ? ` (replaced ${r.replaced})` : ""}\n`);
      process.stdout.write(`the daemon loads it from plugin_paths (add ${JSON.stringify(resolve(opts.into))}) and plugins: { ${r.id}: {} }; restart it to pick it up\n`);
    });

  plugin
    .command("uninstall <id>")
    .description("remove an installed plugin")
    .option("--from <dir>", "plugin directory it was installed into", DEFAULT_INSTALL_DIR)
    .action((id: string, opts: { from: string }) => {
      process.stdout.write(`removed ${uninstallPlugin(id, opts.from)}\n`);
    });
}

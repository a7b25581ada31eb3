import { resolve } from "node:path";
import type { Command } from "commander";
import { ErrorCodes, NexoError } from "../../errors.js";
import type { TrustMode } from "../../packaging/index.js";
import { CLI_TRUST_MODES } from "./choices.js";

/** The packaging library (tar, esbuild, signatures), loaded by the commands that use it. */
const packaging = (): Promise<typeof import("../../packaging/index.js")> => import("../../packaging/index.js");

/** Default install directory; add it to `plugin_paths` in nexo.yaml. */
export const DEFAULT_INSTALL_DIR = "plugins";

function trustMode(value: string): TrustMode {
  if (!CLI_TRUST_MODES.includes(value as TrustMode))
    throw new NexoError(ErrorCodes.PACKAGE_TRUST_CONFIG, `--trust must be one of ${CLI_TRUST_MODES.join(", ")}, got ${JSON.stringify(value)}`, { field: "--trust" });
  return value as TrustMode;
}

function packFormat(value: string): "nexo" | "release" {
  if (value !== "nexo" && value !== "release")
    throw new NexoError(ErrorCodes.PACKAGE_INVALID, `--format must be nexo or release, got ${JSON.stringify(value)}`, { field: "--format" });
  return value;
}

/** `nexo plugin pack|install|uninstall|keygen|sign`: ship plugins as checked archives. No daemon needed. */
export function registerPackageCommands(plugin: Command): void {
  plugin
    .command("pack <dir>")
    .description("pack a plugin so it runs with only nexo and its language runtime (Node bundled, Python/PHP SDK vendored, Rust binary included)")
    .option("-o, --out <dir>", "where to write the archive", ".")
    .option("--format <format>", "nexo: <id>-<version>[-<triple>].tgz; release: upstream's <id>-<version>-<target>.tar.gz with bin/<id> and a .sha256", packFormat, "nexo")
    .option("--with-node-modules", "Node plugins: ship the run-time dependency tree instead of bundling with esbuild")
    .action(async (dir: string, opts: { out: string; format: "nexo" | "release"; withNodeModules?: boolean }) => {
      const { packPlugin } = await packaging();
      const r = await packPlugin(dir, { outDir: opts.out, format: opts.format, withNodeModules: opts.withNodeModules ?? false });
      const lines = [r.file, `sha256 ${r.sha256}`, `${r.manifest.files.length} files, ${r.manifest.id} ${r.manifest.version} (${r.runtime}${r.target ? `, ${r.target}` : ""})`];
      if (r.checksumFile) lines.push(`checksum ${r.checksumFile}`);
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  plugin
    .command("install <archives...>")
    .description("install a plugin archive (a nexo pack or a release archive; a directory or several archives: the best one for this host) after verifying it")
    .option("--into <dir>", "plugin directory to install into (one of plugin_paths)", DEFAULT_INSTALL_DIR)
    .option("--force", "replace an installed plugin with the same id")
    .option("--sha256 <hex>", "refuse the archive unless its SHA-256 is this (a <archive>.sha256 beside it is always checked)")
    .option("--trusted-keys <file>", "trusted-keys TOML (default: $NEXO_TRUSTED_KEYS or ~/.config/nexo/trusted_keys.toml)")
    .option("--trust <mode>", `signature policy, overriding the file's default: ${CLI_TRUST_MODES.join(" | ")}`, trustMode)
    .option("--target <triple>", "install as if this host were <triple> (default: this host, or $NEXO_INSTALL_TARGET)")
    .action(async (archives: string[], opts: { into: string; force?: boolean; sha256?: string; trustedKeys?: string; trust?: TrustMode; target?: string }) => {
      const { hostTarget, installPlugin, loadTrustPolicy, selectArchive } = await packaging();
      const target = opts.target ?? hostTarget();
      const file = selectArchive(archives, target);
      const trust = loadTrustPolicy(opts.trustedKeys, opts.trust ? { mode: opts.trust } : {});
      const r = await installPlugin(file, {
        into: opts.into,
        force: opts.force ?? false,
        trust,
        target,
        onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
        ...(opts.sha256 ? { expectedSha256: opts.sha256 } : {}),
      });
      process.stdout.write(`installed ${r.id} ${r.version} from ${file} in ${r.dir}${r.replaced ? ` (replaced ${r.replaced})` : ""}\n`);
      process.stdout.write(`sha256 ${r.sha256}${r.signedBy ? `, signed by ${r.signedBy}` : ""}\n`);
      process.stdout.write(`the daemon loads it from plugin_paths (add ${JSON.stringify(resolve(opts.into))}) and plugins: { ${r.id}: {} }; restart it to pick it up\n`);
    });

  plugin
    .command("uninstall <id>")
    .description("remove an installed plugin")
    .option("--from <dir>", "plugin directory it was installed into", DEFAULT_INSTALL_DIR)
    .action(async (id: string, opts: { from: string }) => {
      const { uninstallPlugin } = await packaging();
      process.stdout.write(`removed ${uninstallPlugin(id, opts.from)}\n`);
    });

  plugin
    .command("keygen")
    .description("create an ed25519 key pair for signing plugin archives (<name>.key, mode 0600, and <name>.pub)")
    .option("--name <name>", "file name stem and suggested owner", "nexo-signing")
    .option("-o, --out <dir>", "where to write the keys", ".")
    .action(async (opts: { name: string; out: string }) => {
      const { generateSigningKey } = await packaging();
      const k = generateSigningKey(opts.out, opts.name);
      process.stdout.write(
        [
          `private key ${k.privateKeyFile} (keep it secret)`,
          `public key  ${k.publicKeyFile}`,
          "users trust your archives by adding to their trusted_keys.toml:",
          "[[authors]]",
          `owner = ${JSON.stringify(opts.name)}`,
          `public_key = ${JSON.stringify(k.publicKey)}`,
          "",
        ].join("\n"),
      );
    });

  plugin
    .command("sign <archive>")
    .description("write <archive>.sig, a detached ed25519 signature over the archive's SHA-256")
    .requiredOption("--key <file>", "private key from `nexo plugin keygen`")
    .action(async (archive: string, opts: { key: string }) => {
      const { signArchive } = await packaging();
      const r = await signArchive(archive, opts.key);
      process.stdout.write(`${r.file}\nsigned sha256 ${r.sha256} with ${r.publicKey}\n`);
    });
}

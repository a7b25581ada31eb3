import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";

/** Where the PHP SDK lives when the entry file loads it from outside the plugin (no Composer `vendor/`), else null. */
export function findPhpSdk(root: string, entry: string): string | null {
  if (existsSync(resolve(root, "vendor", "autoload.php"))) return null; // Composer installed it inside the plugin
  const file = resolve(root, entry);
  const text = readFileSync(file, "utf8");
  const outside: string[] = [];
  let sdk: string | null = null;
  // `__DIR__ . '/path'` is how PHP code names files next to itself; only those can be followed statically.
  for (const m of text.matchAll(/__DIR__\s*\.\s*(['"])([^'"]+)\1/g)) {
    const target = resolve(dirname(file), `.${m[2].startsWith("/") ? "" : "/"}${m[2]}`);
    const rel = relative(root, target);
    if (!rel.startsWith("..") && !rel.startsWith(sep)) continue;
    if (!existsSync(target)) continue;
    if (target.endsWith("autoload.php") && existsSync(resolve(dirname(target), "src", "PluginAdapter.php"))) sdk = dirname(target);
    else outside.push(m[2]);
  }
  if (outside.length) {
    throw new NexoError(ErrorCodes.PACKAGE_NOT_PORTABLE, `${entry} loads ${outside.join(", ")} from outside the plugin directory; move those files into the plugin`, { file });
  }
  if (sdk && !/vendor\/autoload\.php/.test(text)) {
    throw new NexoError(
      ErrorCodes.PACKAGE_NOT_PORTABLE,
      `${entry} loads the SDK only from ${sdk}, outside the plugin; load vendor/autoload.php when it exists (the pack vendors the SDK there)`,
      { file },
    );
  }
  return sdk;
}

/** `vendor/autoload.php` written into a pack that vendors the SDK under `vendor/nexo/plugin-sdk/`. */
export const VENDOR_AUTOLOAD =
  "<?php\n\n// Written by nexo plugin pack: loads the Nexo PHP SDK vendored beside this file.\nrequire_once __DIR__ . '/nexo/plugin-sdk/autoload.php';\n";

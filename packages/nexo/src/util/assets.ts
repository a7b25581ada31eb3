import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The nexo package's own directory (`packages/nexo` in a checkout,
 * `<prefix>/lib/node_modules/nexo-host` when installed); the same relative
 * place from `src/scaffold/` and `dist/scaffold/`.
 */
export function packageRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url));
}

/** The checkout this package sits in, or null when it is installed from its tarball. */
export function checkoutRoot(): string | null {
  const root = fileURLToPath(new URL("../../../../", import.meta.url));
  return existsSync(join(root, "templates")) && existsSync(join(root, "packages", "plugin-sdk", "package.json")) ? root : null;
}

/**
 * Where nexo's run-time files live: `<package>/assets/` when installed (the
 * `prepack` step copies templates, conformance vectors, the demo and the SDK
 * artifacts there; its layout mirrors the checkout's: `templates/`,
 * `conformance/vectors/`, `examples/`, `sdk/`), the checkout itself in
 * development. A checkout wins even when `assets/` exists: it does for the
 * moment `npm pack` runs, and the live sources are what development wants.
 */
export function assetsRoot(): string {
  return checkoutRoot() ?? join(packageRoot(), "assets");
}

/** True when nexo runs from its packed assets (installed from the tarball), not a checkout. */
export function isPackedAssets(): boolean {
  return checkoutRoot() === null;
}

/** `templates/` that `nexo plugin new` renders. */
export function templatesDir(): string {
  return join(assetsRoot(), "templates");
}

/** The conformance vectors `nexo plugin test` runs. */
export function vectorsDir(): string {
  return join(assetsRoot(), "conformance", "vectors");
}

/** The bundled examples (the demo and the plugins it runs). */
export function examplesDir(): string {
  return join(assetsRoot(), "examples");
}

export { packPlugin } from "./pack-plugin.js";
export { installPlugin, uninstallPlugin } from "./install-plugin.js";
export { PACKAGE_MANIFEST, PACKAGE_FORMAT, parsePackageManifest, isSafeRelativePath } from "./package-manifest.js";
export type { PackPluginOptions, PackResult } from "./pack-plugin.js";
export type { InstallLimits, InstallPluginOptions, InstallResult } from "./install-plugin.js";
export type { PackageManifest, PackagedFile } from "./package-manifest.js";

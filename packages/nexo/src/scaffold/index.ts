export { assetsRoot, checkoutRoot, examplesDir, isPackedAssets, packageRoot, templatesDir, vectorsDir } from "../util/index.js";
export { prepareAssets } from "./prepare-assets.js";
export { SCAFFOLD_LANGS, scaffoldPlugin } from "./scaffold-plugin.js";
export { buildSdkArtifact, sdkArtifact, SDK_DIST_DIR } from "./sdk-artifacts.js";
export type { AssetsIndex } from "./prepare-assets.js";
export type { ScaffoldLang, ScaffoldOptions, ScaffoldResult } from "./scaffold-plugin.js";
export type { SdkArtifact, SdkLang } from "./sdk-artifacts.js";

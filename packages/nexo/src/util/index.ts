export { digestText } from "./digest.js";
export { Limiter } from "./limiter.js";
export type { LimiterRefusal } from "./limiter.js";
export { assetsRoot, checkoutRoot, examplesDir, isPackedAssets, packageRoot, templatesDir, vectorsDir } from "./assets.js";
export type { DigestAlgorithm } from "./digest.js";
export { compileGlob, compileGlobs } from "./glob.js";
export type { NameMatcher } from "./glob.js";
export { boundedData, clipText } from "./clip.js";

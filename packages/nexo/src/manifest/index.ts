export { convertV1Manifest, isV1Manifest } from "./compat-v1.js";
export {
  findManifestFile,
  findPluginBinary,
  formatManifestReport,
  isOnPath,
  loadManifest,
  loadPluginManifest,
  MANIFEST_FILE_NAMES,
  parseManifest,
  resolveEntrypoint,
} from "./load-manifest.js";
export { ManifestError } from "./manifest-error.js";
export { askBinaryForManifest, PRINT_MANIFEST_TIMEOUT_MS } from "./print-manifest.js";
export { MAX_PLUGIN_FILE_BYTES, PluginFileError, readPluginFile } from "./read-plugin-file.js";
export { EXTENDS_ID_PATTERN, ID_PATTERN, toSemverRange, validateManifest } from "./validate.js";
export { OUTBOUND_TOOL_METHOD } from "./validate-tools.js";
export type { LoadManifestOptions } from "./load-manifest.js";
export type { PrintManifestOptions } from "./print-manifest.js";
export type { PluginFileProblem } from "./read-plugin-file.js";
export type { V1Conversion } from "./compat-v1.js";
export type { ManifestSandbox, ManifestViolation, PluginConfigContract, PluginManifest, ToolExpose, ToolOutbound } from "./types.js";
export { checkMountPrefix, RESERVED_MOUNT_PREFIXES } from "./mount-prefix.js";
export type { MountPrefixProblem } from "./mount-prefix.js";

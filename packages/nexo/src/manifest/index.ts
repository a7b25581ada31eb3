export { findManifestFile, formatManifestReport, isOnPath, loadManifest, MANIFEST_FILE_NAMES, parseManifest, resolveEntrypoint } from "./load-manifest.js";
export { ManifestError } from "./manifest-error.js";
export { ID_PATTERN, validateManifest } from "./validate.js";
export { checkMountPrefix, RESERVED_MOUNT_PREFIXES } from "./mount-prefix.js";
export type { ManifestViolation, PluginManifest, ToolExpose } from "./types.js";
export type { MountPrefixProblem } from "./mount-prefix.js";

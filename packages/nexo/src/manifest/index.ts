export { findManifestFile, formatManifestReport, isOnPath, loadManifest, MANIFEST_FILE_NAMES, parseManifest, resolveEntrypoint } from "./load-manifest.js";
export { ManifestError } from "./manifest-error.js";
export { ID_PATTERN, RESERVED_MOUNT_PREFIXES, validateManifest } from "./validate.js";
export type { ManifestViolation, PluginManifest, ToolExpose } from "./types.js";

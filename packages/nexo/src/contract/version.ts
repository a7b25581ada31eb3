// Defined beside the package version so the CLI reads it without loading the wire modules (docs/adr/0028-cli-lazy-commands-and-test-tiers.md).
export { NEXO_CONTRACT_VERSION } from "../version.js";

import { readFileSync } from "node:fs";

/** The daemon's version (from packages/nexo/package.json), checked against plugins' `min_nexo_version`. */
export const NEXO_VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/**
 * The upstream daemon (lordmacu/nexo-rs) version whose plugin contract this
 * host implements. A manifest's `min_nexo_version` is a requirement on the
 * upstream daemon (upstream plugins carry `">=0.1.19"`, `">=0.2.0"`), so it is
 * checked against this version, never against Nexo's own package version.
 * Raise it when the host implements a newer upstream contract.
 */
export const NEXO_CONTRACT_VERSION = "0.2.0";

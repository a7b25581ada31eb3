import { readFileSync } from "node:fs";

/** The daemon's version (from packages/nexo/package.json), checked against plugins' `min_nexo_version`. */
export const NEXO_VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

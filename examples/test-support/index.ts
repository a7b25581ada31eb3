export { collect, memoryLogger, readExampleConfig, REPO_ROOT, startExampleDaemon, tempDir, waitFor, writeExampleConfig } from "./example-daemon.js";
export { NEXO_BIN, runNexo, spawnNexoRun } from "./nexo-cli.js";
export type { ExampleDaemon, RawConfig, StartExampleOptions } from "./example-daemon.js";
export type { NexoRun } from "./nexo-cli.js";

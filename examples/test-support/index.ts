export { collect, memoryLogger, readExampleConfig, REPO_ROOT, startExampleDaemon, tempDir, testBroker, writeExampleConfig } from "./example-daemon.js";
export { checkEchoExample } from "./echo-example.js";
export { waitFor } from "../../packages/nexo/test/helpers/wait.js";
export { NEXO_BIN, runNexo, spawnNexoRun, waitForPlugins } from "./nexo-cli.js";
export type { ExampleDaemon, RawConfig, StartExampleOptions } from "./example-daemon.js";
export type { NexoRun } from "./nexo-cli.js";

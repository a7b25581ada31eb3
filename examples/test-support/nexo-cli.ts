import { spawn, type ChildProcess } from "node:child_process";
import type { TestContext } from "node:test";
import { NEXO_BIN } from "../../packages/nexo/test/helpers/nexo-cli.js";

// One definition of the binary and of a one-shot CLI run, shared with the daemon package's own tests.
export { NEXO_BIN, runNexo, waitForPlugins } from "../../packages/nexo/test/helpers/nexo-cli.js";

/** A `nexo run` child process; `output()` is everything it wrote so far (stdout and stderr). */
export interface NexoRun {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then resolve with the exit code. */
  stop: () => Promise<number | null>;
}

/** Spawn `nexo run --config <file>` with extra env; SIGTERMed after the test if still running. */
export function spawnNexoRun(t: TestContext, configFile: string, env: NodeJS.ProcessEnv = {}): NexoRun {
  const child = spawn(process.execPath, [NEXO_BIN, "run", "--config", configFile], { env: { ...process.env, ...env } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  t.after(stop);
  return { child, output: () => out, exited, stop };
}

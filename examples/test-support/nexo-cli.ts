import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { REPO_ROOT } from "./example-daemon.js";

/** The built `nexo` binary (`npm run build` first, as scripts/test.sh does). */
export const NEXO_BIN = join(REPO_ROOT, "packages", "nexo", "bin", "nexo.js");

/** Run one `nexo` CLI command to completion. */
export function runNexo(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NEXO_BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

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

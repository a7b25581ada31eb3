import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

/** The `nexo` binary (built: run `npm run build` first). */
export const NEXO_BIN = fileURLToPath(new URL("../../bin/nexo.js", import.meta.url));

/** Run `nexo <args>` to completion with `env` added to the environment. */
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

/** `nexo run --config <config>` in the background (`env` added to its environment), SIGTERMed after the test; `output()` is its stdout and stderr so far. */
export function startNexoDaemon(t: TestContext, config: string, env: NodeJS.ProcessEnv = {}): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [NEXO_BIN, "run", "--config", config], { env: { ...process.env, NEXO_LOG_LEVEL: "info", ...env } });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  t.after(async () => {
    // A daemon killed by a signal has no exit code but has ended all the same.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("close", r));
    }
  });
  return Object.assign(child, { output: () => out });
}

/**
 * `nexo tail <pattern> --count <count>` in the background, resolved once its
 * subscription is live; `closed` resolves with its exit code, `events()` parses its lines.
 */
export async function startNexoTail(t: TestContext, pattern: string, count: number, env: NodeJS.ProcessEnv): Promise<{ closed: Promise<number | null>; events: () => any[] }> {
  const tail = spawn(process.execPath, [NEXO_BIN, "tail", pattern, "--count", String(count)], { env: { ...process.env, ...env } });
  let out = "";
  let err = "";
  tail.stdout.on("data", (d) => (out += d));
  // Listen for the exit now: the tail may finish before the test awaits it.
  const closed = new Promise<number | null>((r) => tail.once("close", r));
  t.after(() => void tail.kill());
  await new Promise<void>((resolve, reject) => {
    tail.stderr.on("data", (d) => {
      err += d;
      if (err.includes("tailing")) resolve();
    });
    closed.then(() => reject(new Error(`nexo tail exited before subscribing: ${err}`)));
  });
  return {
    closed,
    events: () =>
      out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

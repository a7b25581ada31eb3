import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { ControlClient, ControlMethods } from "../../src/surfaces/control/index.js";
import { waitFor } from "./wait.js";

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

/** A row of the daemon's plugin list (`nexo plugin list --json`). */
export interface PluginRow {
  key: string;
  state: string;
  pid?: number;
  [field: string]: unknown;
}

/**
 * Poll the daemon's plugin list over its control socket from this process until
 * `ready(rows)` holds; resolves with those rows. Waiting with a `nexo plugin list`
 * process per poll costs a node start each time (the more so the busier the
 * machine, as the daemon then takes longer to be ready): assert the CLI's output
 * once, after this. The default bound is a daemon start on a busy 2-core machine.
 */
export async function waitForPlugins(socketPath: string, ready: (rows: PluginRow[]) => boolean, what: string, timeoutMs = 60_000): Promise<PluginRow[]> {
  return waitFor(
    async () => {
      const client = await ControlClient.connect(socketPath).catch(() => null);
      if (!client) return null;
      try {
        const rows = (await client.request(ControlMethods.PLUGIN_LIST)) as PluginRow[];
        return ready(rows) ? rows : null;
      } catch {
        return null;
      } finally {
        client.close();
      }
    },
    what,
    timeoutMs,
    100,
  );
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

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

type Frame = Record<string, any>;

/** tsx's loader as an absolute URL, so `--import` works from any cwd. */
export const TSX = import.meta.resolve("tsx");

/** Drives a real plugin child over stdio, playing the host. */
export class PluginProcess {
  readonly frames: Frame[] = [];
  /** stdout lines that were not JSON frames. */
  readonly strayStdout: string[] = [];
  stderr = "";
  private buf = "";
  private nextId = 1;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      this.buf += d;
      let nl;
      while ((nl = this.buf.indexOf("\n")) !== -1) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          this.frames.push(JSON.parse(line));
        } catch {
          this.strayStdout.push(line); // the stdout guard should make this impossible
        }
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (this.stderr += d));
    this.exited = new Promise((r) => child.once("close", (code, signal) => r({ code, signal })));
  }

  /** Spawn a fixture under `test/fixtures/` with tsx; killed after the test if still alive. */
  static start(t: TestContext, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd?: string): PluginProcess {
    const path = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
    return PluginProcess.spawn(t, [path, ...args], env, cwd);
  }

  /**
   * Spawn `node --import tsx <argv...>` (tsx resolved from this repo, so cwd may be anywhere).
   * The harness plays the Nexo host, so it sets NEXO_PLUGIN_KEY as the daemon does (pass `NEXO_PLUGIN_KEY: undefined` to play an upstream host).
   */
  static spawn(t: TestContext, argv: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): PluginProcess {
    const merged: NodeJS.ProcessEnv = { ...process.env, NEXO_PLUGIN_KEY: "harness", ...env };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    const child = spawn(process.execPath, ["--import", TSX, ...argv], { env: merged, ...(cwd ? { cwd } : {}) });
    const p = new PluginProcess(child);
    t.after(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));
    return p;
  }

  write(raw: string | Buffer): void {
    this.child.stdin.write(raw);
  }

  send(frame: Frame): void {
    this.write(`${JSON.stringify(frame)}\n`);
  }

  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: "2.0", method, params });
  }

  /** Send a request and wait for the reply with its id. */
  async request(method: string, params?: unknown, timeoutMs = 10_000): Promise<Frame> {
    const id = this.nextId++;
    this.send(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params });
    return this.waitFor((f) => f.id === id && ("result" in f || "error" in f), `reply to ${method}`, timeoutMs);
  }

  async waitFor(pred: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  published(): Frame[] {
    return this.frames.filter((f) => f.method === "broker.publish");
  }
}

export function event(topic: string, payload: unknown, id = `e-${Math.random()}`): Record<string, unknown> {
  return { id, timestamp: new Date().toISOString(), topic, source: "test", session_id: null, payload };
}

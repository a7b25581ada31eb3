import { spawn } from "node:child_process";
import { ErrorCodes, NexoError } from "../errors.js";

/** Options of `runStep`. */
export interface RunStepOptions {
  cwd: string;
  /** Extra environment on top of the current one. Default none. */
  env?: Record<string, string>;
  /** Called with every non-empty line the tool prints (stdout and stderr), for progress. Default: lines are dropped. */
  onLine?: (line: string) => void;
}

/** What a finished step printed. */
export interface StepOutput {
  stdout: string;
  /** The last 4 KB of stderr and stdout interleaved, for error messages. */
  tail: string;
}

/**
 * Run one external build step (npm, pip, cargo, python) with `shell: false`,
 * streaming its lines to `onLine`. Resolves null when the program is not
 * installed (ENOENT) so callers can fall back to printing the command;
 * throws NEXO_ERR_SCAFFOLD_BUILD_FAILED with the output's tail when it exits non-zero.
 */
export function runStep(cmd: string, args: string[], options: RunStepOptions): Promise<StepOutput | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], shell: false });
    let stdout = "";
    let tail = "";
    const lines = (chunk: Buffer, partial: { rest: string }, isStdout: boolean): void => {
      const text = chunk.toString("utf8");
      if (isStdout) stdout += text;
      tail = (tail + text).slice(-4000);
      const parts = (partial.rest + text).split(/\r?\n|\r/);
      partial.rest = parts.pop() ?? "";
      for (const l of parts) if (l.trim()) options.onLine?.(l);
    };
    const out = { rest: "" };
    const err = { rest: "" };
    child.stdout.on("data", (d: Buffer) => lines(d, out, true));
    child.stderr.on("data", (d: Buffer) => lines(d, err, false));
    child.once("error", (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? resolve(null) : reject(e)));
    child.once("close", (code, signal) => {
      for (const r of [out.rest, err.rest]) if (r.trim()) options.onLine?.(r);
      if (code === 0) resolve({ stdout, tail });
      else
        reject(
          new NexoError(
            ErrorCodes.SCAFFOLD_BUILD_FAILED,
            `${[cmd, ...args].join(" ")} failed in ${options.cwd} (${signal ? `signal ${signal}` : `exit ${code}`}):\n${tail.trim()}`,
            { file: options.cwd },
          ),
        );
    });
  });
}

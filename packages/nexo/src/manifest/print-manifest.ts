import { spawn } from "node:child_process";
import { MAX_PLUGIN_FILE_BYTES } from "./read-plugin-file.js";

/** How long a plugin binary gets to print its manifest. */
export const PRINT_MANIFEST_TIMEOUT_MS = 5000;

/** Options of `askBinaryForManifest`. */
export interface PrintManifestOptions {
  /** Deadline for the whole run. Default 5000 ms. */
  timeoutMs?: number;
  /** Most bytes of output accepted. Default 1 MiB. */
  maxBytes?: number;
  /** Working directory: the plugin's directory. */
  cwd: string;
}

/** Variables a binary asked for its manifest may see: enough to run, nothing secret. */
const PASSED_ENV = ["PATH", "HOME", "LANG", "TZ", "TMPDIR", "SYSTEMROOT"];

/**
 * Run `<binary> --print-manifest` (upstream's way of asking an installed
 * plugin for its manifest) and return what it printed. Bounded: killed (its
 * whole process group, so a helper it forked cannot keep the pipe open) after
 * `timeoutMs` or once it printed more than `maxBytes`; a non-zero exit is an
 * error. stdin is closed, stderr discarded. Errors name the binary, never its output.
 */
export function askBinaryForManifest(binary: string, options: PrintManifestOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? PRINT_MANIFEST_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? MAX_PLUGIN_FILE_BYTES;
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["--print-manifest"], { cwd: options.cwd, env, shell: false, stdio: ["ignore", "pipe", "ignore"], detached: true, windowsHide: true });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
      child.stdout.destroy();
    };
    const finish = (err: Error | null, text?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        killGroup();
        reject(err);
      } else resolve(text as string);
    };
    const timer = setTimeout(() => finish(new Error(`${binary} --print-manifest did not finish within ${timeoutMs} ms`)), timeoutMs);
    child.once("error", (e) => finish(new Error(`${binary} --print-manifest could not be run: ${e.message}`)));
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return finish(new Error(`${binary} --print-manifest printed more than ${maxBytes} bytes`));
      chunks.push(chunk);
    });
    child.once("close", (code, signal) => {
      if (code !== 0) return finish(new Error(`${binary} --print-manifest exited with ${signal ? `signal ${signal}` : `code ${code}`}`));
      finish(null, Buffer.concat(chunks).toString("utf8"));
    });
  });
}

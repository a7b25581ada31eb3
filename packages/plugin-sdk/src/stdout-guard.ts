/** The real stdout writer, captured before the guard replaces `process.stdout.write`. */
export type RawWrite = (data: string) => boolean;

/** Prefix of the stderr lines the guard diverts from stdout. */
export const STDOUT_GUARD_MARKER = "[stdout-guard]";

let installed: { rawWrite: RawWrite; uninstall: () => void } | undefined;

/**
 * Keep stdout for frames only: anything the plugin's own code writes to
 * stdout (console.log included) goes to stderr, prefixed `[stdout-guard] `.
 * Returns the real writer for the SDK's frames and a function that undoes the
 * guard. Installing twice returns the same guard.
 */
export function installStdoutGuard(): { rawWrite: RawWrite; uninstall: () => void } {
  if (installed) return installed;
  const stdout = process.stdout;
  const original = stdout.write;
  const rawWrite: RawWrite = (data) => original.call(stdout, data);
  const guarded = function (this: unknown, chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean {
    const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("utf8") : String(chunk);
    const prefixed = text
      .split("\n")
      .map((line, i, all) => (i === all.length - 1 && line === "" ? "" : `${STDOUT_GUARD_MARKER} ${line}`))
      .join("\n");
    const callback = typeof encodingOrCb === "function" ? encodingOrCb : cb;
    return process.stderr.write(prefixed.endsWith("\n") ? prefixed : `${prefixed}\n`, callback as () => void);
  };
  stdout.write = guarded as typeof stdout.write;
  const handle = {
    rawWrite,
    uninstall: (): void => {
      if (installed !== handle) return;
      stdout.write = original;
      installed = undefined;
    },
  };
  installed = handle;
  return handle;
}

/** Undo `installStdoutGuard` (no-op when not installed). */
export function uninstallStdoutGuard(): void {
  installed?.uninstall();
}

/** True while the guard is installed. */
export function isStdoutGuardInstalled(): boolean {
  return installed !== undefined;
}

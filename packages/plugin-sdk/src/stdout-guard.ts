/** The real stdout writer, captured before the guard replaces `process.stdout.write`. */
export type RawWrite = (data: string) => boolean;

/**
 * Keep stdout for frames only: anything the plugin's own code writes to
 * stdout (console.log included) goes to stderr, prefixed `[stdout-guard] `.
 * Returns the real writer for the SDK's frames and a function that undoes the guard.
 */
export function installStdoutGuard(): { rawWrite: RawWrite; uninstall: () => void } {
  const stdout = process.stdout;
  const original = stdout.write;
  const rawWrite: RawWrite = (data) => original.call(stdout, data);
  const guarded = function (this: unknown, chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean {
    const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("utf8") : String(chunk);
    const prefixed = text
      .split("\n")
      .map((line, i, all) => (i === all.length - 1 && line === "" ? "" : `[stdout-guard] ${line}`))
      .join("\n");
    const callback = typeof encodingOrCb === "function" ? encodingOrCb : cb;
    return process.stderr.write(prefixed.endsWith("\n") ? prefixed : `${prefixed}\n`, callback as () => void);
  };
  stdout.write = guarded as typeof stdout.write;
  return { rawWrite, uninstall: () => void (stdout.write = original) };
}

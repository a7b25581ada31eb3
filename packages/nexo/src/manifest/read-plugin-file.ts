import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative } from "node:path";

/** Largest manifest or schema file the host reads (1 MiB). */
export const MAX_PLUGIN_FILE_BYTES = 1024 * 1024;

/** Why a plugin file was not read. */
export type PluginFileProblem = "not_found" | "outside_plugin" | "not_regular" | "too_large" | "unreadable";

/** A plugin file that was refused; the message names the path and the reason, never the content. */
export class PluginFileError extends Error {
  override name = "PluginFileError";
  constructor(
    readonly path: string,
    readonly problem: PluginFileProblem,
    message: string,
  ) {
    super(message);
  }
}

function describeKind(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Read a file that belongs to a plugin (its manifest, a schema) without
 * trusting it: the path, symlinks resolved, must stay inside `root`
 * (realpath); it must be a regular file (a FIFO would block the daemon, a
 * device like /dev/zero would never end) of at most `maxBytes`. The file is
 * opened non-blocking and without following a last-moment symlink swap, then
 * checked again on the open descriptor, and never read past the cap.
 * Throws PluginFileError; its message never quotes the file's content.
 */
export function readPluginFile(path: string, root: string, maxBytes = MAX_PLUGIN_FILE_BYTES): string {
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    throw new PluginFileError(path, "not_found", `${root}: plugin directory not found`);
  }
  try {
    real = realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PluginFileError(path, "not_found", code === "ENOENT" || code === "ENOTDIR" ? `${path}: file not found` : `${path}: cannot be resolved (${code ?? "error"})`);
  }
  const rel = relative(realRoot, real);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new PluginFileError(path, "outside_plugin", `${path}: resolves outside the plugin directory ${realRoot} (through a symlink or ..); refused`);
  }
  const st = statSync(real);
  if (!st.isFile()) throw new PluginFileError(path, "not_regular", `${path}: is ${describeKind(st)}, not a regular file`);
  if (st.size > maxBytes) throw new PluginFileError(path, "too_large", `${path}: is ${st.size} bytes, more than the ${maxBytes}-byte limit`);
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new PluginFileError(path, "unreadable", `${path}: cannot be opened (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  try {
    const fst = fstatSync(fd);
    // The path may have been swapped between the checks and the open.
    if (!fst.isFile()) throw new PluginFileError(path, "not_regular", `${path}: is ${describeKind(fst)}, not a regular file`);
    // One byte over the cap tells a file that grew past it from one that fits.
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    if (got > maxBytes) throw new PluginFileError(path, "too_large", `${path}: is larger than the ${maxBytes}-byte limit`);
    return buf.subarray(0, got).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

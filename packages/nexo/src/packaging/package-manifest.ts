import { ErrorCodes, NexoError } from "../errors.js";

/** Name of the file every pack carries at its root, listing what it holds. */
export const PACKAGE_MANIFEST = "nexo-package.json";

/** Format of `nexo-package.json`; bumped on incompatible change. */
export const PACKAGE_FORMAT = 1;

/** One file of a pack, with what installing checks. */
export interface PackagedFile {
  /** POSIX path relative to the plugin's directory. */
  path: string;
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /** True when the file must be executable (a compiled entrypoint, a script with a shebang). */
  executable: boolean;
}

/** `nexo-package.json`: what a pack claims to hold; install refuses anything else. */
export interface PackageManifest {
  format: number;
  id: string;
  version: string;
  /** The nexo version that packed it. */
  packedBy: string;
  files: PackagedFile[];
}

/** Parse and check `nexo-package.json` text. Throws NEXO_ERR_PACKAGE_INVALID naming the problem. */
export function parsePackageManifest(text: string, source: string): PackageManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NexoError(ErrorCodes.PACKAGE_INVALID, `${source}: ${PACKAGE_MANIFEST} is not JSON: ${(err as Error).message}`, { file: source });
  }
  const bad = (why: string): NexoError => new NexoError(ErrorCodes.PACKAGE_INVALID, `${source}: ${PACKAGE_MANIFEST} ${why}`, { file: source });
  if (!raw || typeof raw !== "object") throw bad("must be an object");
  const m = raw as Record<string, unknown>;
  if (m.format !== PACKAGE_FORMAT) throw bad(`has format ${JSON.stringify(m.format)}; this nexo reads format ${PACKAGE_FORMAT}`);
  for (const k of ["id", "version", "packedBy"]) if (typeof m[k] !== "string") throw bad(`needs a string "${k}"`);
  if (!Array.isArray(m.files)) throw bad('needs a "files" array');
  const seen = new Set<string>();
  for (const f of m.files as unknown[]) {
    const e = f as Record<string, unknown>;
    if (!e || typeof e.path !== "string" || typeof e.size !== "number" || typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256) || typeof e.executable !== "boolean") {
      throw bad(`has a malformed file entry: ${JSON.stringify(f)?.slice(0, 200)}`);
    }
    if (!isSafeRelativePath(e.path)) throw bad(`lists an unsafe path ${JSON.stringify(e.path)}`);
    if (seen.has(e.path)) throw bad(`lists ${e.path} twice`);
    seen.add(e.path);
  }
  return m as unknown as PackageManifest;
}

/** A relative POSIX path that stays inside its root: no absolute paths, no `..`, no empty or `.` segments, no backslashes or NULs. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 4096 || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
}

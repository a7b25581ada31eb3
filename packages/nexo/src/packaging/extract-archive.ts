import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { ErrorCodes, NexoError } from "../errors.js";
import { isSafeRelativePath } from "./package-manifest.js";

/** Bounds an extraction enforces while it streams; every one is checked before the bytes it guards are written. */
export interface ExtractLimits {
  /** Largest total of file contents written, in bytes. Default 512 MiB. */
  maxUnpackedBytes: number;
  /** Most entries, files and directories together. Default 50,000. */
  maxEntries: number;
}

/** Zero padding tolerated after the end-of-archive marker: one default tar record (20 blocks). */
export const MAX_TRAILING_BYTES = 10_240;

/** Decompressed bytes allowed beyond file contents and their headers: room for pax and long-name metadata. */
const METADATA_ALLOWANCE = 16 << 20;

/** What an entry looks like before anything of it is written. */
export interface EntryHeader {
  /** Normalised POSIX path (no `./` prefix, no trailing slash). */
  path: string;
  kind: "file" | "dir";
  /** Declared content size in bytes (0 for a directory). */
  size: number;
  /** Position in the archive, counting only file and directory entries. */
  index: number;
}

/** A file written by the extraction. */
export interface ExtractedFile {
  path: string;
  size: number;
  sha256: string;
  /** Executable bit as the archive declared it. */
  executable: boolean;
}

export interface ExtractArchiveOptions {
  limits: ExtractLimits;
  /** Name used in error messages. Default: `file`. */
  label?: string;
  /** Called with every header before its entry is written; throw to refuse the archive. */
  onHeader?: (entry: EntryHeader) => void;
  /** Called when a file is completely written; throw to refuse the archive. */
  onFile?: (file: ExtractedFile, absolutePath: string) => void | Promise<void>;
}

/** What was extracted. */
export interface ExtractResult {
  files: ExtractedFile[];
  /** Directory entries seen; only those holding files exist on disk. */
  dirs: string[];
  /** Decompressed bytes read from the archive when it ended (or was refused). */
  decompressedBytes: number;
}

const ZERO_BLOCK = Buffer.alloc(512);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Unpack an untrusted `.tar.gz` into `dest` (an empty directory), streaming:
 * only regular files and directories, paths that stay inside, no entry twice,
 * sizes and counts checked against `limits` at each header (an entry that
 * would pass a limit is refused before its first byte is written), and
 * nothing but up to one record of zero padding after the end-of-archive
 * marker. The first refusal stops reading at once; the caller removes `dest`.
 * Refusals are NexoErrors whose `details.data.decompressedBytes` says how far
 * into the archive they happened.
 */
export async function extractArchive(archive: string, dest: string, options: ExtractArchiveOptions): Promise<ExtractResult> {
  const { limits } = options;
  const file = options.label ?? archive;
  const source = createReadStream(archive);
  const gunzip = createGunzip();
  const aborter = new AbortController();
  let failure: NexoError | undefined;
  let decompressed = 0;
  const fail = (err: unknown): void => {
    if (failure) return;
    failure =
      err instanceof NexoError ? err : new NexoError(ErrorCodes.PACKAGE_INVALID, `${file}: not a valid .tar.gz: ${(err as Error).message ?? String(err)}`, { file, cause: err });
    aborter.abort();
    source.destroy();
    gunzip.destroy();
  };
  const stopped = new Promise<never>((_, reject) => aborter.signal.addEventListener("abort", () => reject(new Error("extraction stopped")), { once: true }));
  stopped.catch(() => undefined);
  const refuse = (code: typeof ErrorCodes.PACKAGE_INVALID | typeof ErrorCodes.PACKAGE_TOO_LARGE, why: string): NexoError =>
    new NexoError(code, `${file}: ${why}`, { file, data: { decompressedBytes: decompressed } });

  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024, brotli: false, zstd: false });
  parser.on("error", (err: Error) => fail(refuse(ErrorCodes.PACKAGE_INVALID, `not a valid tar archive: ${err.message}`)));
  parser.on("warn", (_code: string, message: string) => fail(refuse(ErrorCodes.PACKAGE_INVALID, `not a valid tar archive: ${message}`)));
  parser.on("ignoredEntry", (e: ReadEntry) => fail(refuse(ErrorCodes.PACKAGE_INVALID, `entry ${JSON.stringify(e.path)} (${e.type}) has an oversized or unsupported header`)));
  let sawEof = false;
  parser.on("eof", () => void (sawEof = true));

  // Everything the stream may hold: contents, a header and padding per entry, metadata, trailing padding.
  // Metadata entries (pax, long names) are not files, so only this total bounds them.
  const maxDecompressed = limits.maxUnpackedBytes + limits.maxEntries * 1024 + METADATA_ALLOWANCE + MAX_TRAILING_BYTES;
  const files: ExtractedFile[] = [];
  const dirs: string[] = [];
  const seen = new Set<string>();
  let entries = 0;
  let unpacked = 0;
  let chain: Promise<void> = Promise.resolve();

  const handle = async (entry: ReadEntry): Promise<void> => {
    if (failure) return void entry.resume();
    const raw = entry.path;
    const path = raw.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    if (entry.type === "Directory" && (path === "" || path === ".")) return void entry.resume(); // a `./` root entry names dest itself
    const kind = entry.type === "Directory" ? "dir" : entry.type === "File" || entry.type === "OldFile" ? "file" : undefined;
    if (!kind) throw refuse(ErrorCodes.PACKAGE_INVALID, `entry ${JSON.stringify(raw)} is a ${entry.type}; only regular files and directories may be installed`);
    if (!isSafeRelativePath(path)) throw refuse(ErrorCodes.PACKAGE_INVALID, `unsafe path ${JSON.stringify(raw)}`);
    if (seen.has(path)) throw refuse(ErrorCodes.PACKAGE_INVALID, `${JSON.stringify(path)} appears twice in the archive`);
    seen.add(path);
    entries += 1;
    if (entries > limits.maxEntries) throw refuse(ErrorCodes.PACKAGE_TOO_LARGE, `more than ${limits.maxEntries} entries (files and directories)`);
    const size = kind === "file" ? entry.size : 0;
    if (size > limits.maxUnpackedBytes - unpacked) {
      throw refuse(ErrorCodes.PACKAGE_TOO_LARGE, `${path} declares ${size} bytes, which would unpack past the limit of ${limits.maxUnpackedBytes} bytes`);
    }
    options.onHeader?.({ path, kind, size, index: entries - 1 });
    const target = join(dest, path);
    // Directories are only recorded: the files inside create them, so a flood of empty ones costs no disk work.
    if (kind === "dir") {
      dirs.push(path);
      return void entry.resume();
    }
    try {
      await mkdir(join(target, ".."), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw refuse(ErrorCodes.PACKAGE_INVALID, `cannot create ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    // "wx": never follow or replace something already there.
    const fh = await open(target, "wx", 0o600).catch((err: NodeJS.ErrnoException) => {
      throw refuse(ErrorCodes.PACKAGE_INVALID, `cannot create ${path}: ${err.code ?? err.message}`);
    });
    const hash = createHash("sha256");
    let written = 0;
    try {
      const reader = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        // An entry cut off mid-body (corrupt or truncated input) never ends: the abort ends the wait.
        const next = await Promise.race([reader.next(), stopped]);
        if (next.done || failure) break;
        const chunk = next.value;
        // Never trust the framing alone: count what arrives against the declared size and the budget.
        if (written + chunk.length > size || unpacked + chunk.length > limits.maxUnpackedBytes) {
          throw refuse(ErrorCodes.PACKAGE_TOO_LARGE, `${path} holds more bytes than it declares or than the limit allows`);
        }
        hash.update(chunk);
        await fh.write(chunk);
        written += chunk.length;
        unpacked += chunk.length;
      }
    } finally {
      await fh.close();
    }
    if (failure) return;
    if (written !== size) throw refuse(ErrorCodes.PACKAGE_INVALID, `${path} is truncated (${written} of ${size} bytes)`);
    const done: ExtractedFile = { path, size, sha256: hash.digest("hex"), executable: ((entry.mode ?? 0) & 0o111) !== 0 };
    files.push(done);
    await options.onFile?.(done, target);
  };

  parser.on("entry", (entry: ReadEntry) => {
    chain = chain
      .then(() => handle(entry))
      .catch((err: unknown) => {
        entry.resume();
        fail(err);
      });
  });

  // Whole blocks go to the parser; a chunk holding an all-zero block is fed block by block so
  // the parser's end-of-archive event tells exactly where the trailing bytes begin.
  let carry: Buffer | undefined;
  let sniffed = false;
  const sniff = (head: Buffer): void => {
    sniffed = true;
    // The tar parser would silently unwrap a second compression layer, past these counters.
    if (head.subarray(0, 2).equals(GZIP_MAGIC) || head.subarray(0, 4).equals(ZSTD_MAGIC)) throw refuse(ErrorCodes.PACKAGE_INVALID, "the archive is compressed twice");
  };
  let trailing = 0;
  const checkTrailing = (bytes: Buffer): void => {
    trailing += bytes.length;
    if (trailing > MAX_TRAILING_BYTES || !bytes.equals(Buffer.alloc(bytes.length))) {
      throw refuse(
        ErrorCodes.PACKAGE_INVALID,
        `data after the end-of-archive marker (${trailing > MAX_TRAILING_BYTES ? `more than ${MAX_TRAILING_BYTES} bytes` : "not zero padding"})`,
      );
    }
  };
  const feed = async (data: Buffer): Promise<void> => {
    if (sawEof) return checkTrailing(data);
    const buf = carry ? Buffer.concat([carry, data]) : data;
    const whole = buf.length - (buf.length % 512);
    carry = whole < buf.length ? Buffer.from(buf.subarray(whole)) : undefined;
    let hasZeroBlock = false;
    for (let at = 0; at < whole && !hasZeroBlock; at += 512) hasZeroBlock = buf.subarray(at, at + 512).equals(ZERO_BLOCK);
    if (!sniffed && whole > 0) sniff(buf);
    const pieces: Buffer[] = [];
    if (!hasZeroBlock) pieces.push(buf.subarray(0, whole));
    else for (let at = 0; at < whole; at += 512) pieces.push(buf.subarray(at, at + 512));
    for (let i = 0; i < pieces.length; i += 1) {
      if (pieces[i].length === 0) continue;
      const more = parser.write(pieces[i]);
      if (failure) return;
      if (sawEof) {
        checkTrailing(Buffer.concat([...pieces.slice(i + 1), carry ?? Buffer.alloc(0)]));
        carry = undefined;
        return;
      }
      if (!more) await once(parser, "drain", { signal: aborter.signal });
    }
  };

  try {
    source.pipe(gunzip);
    source.on("error", fail);
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (failure) break;
      decompressed += chunk.length;
      if (decompressed > maxDecompressed) throw refuse(ErrorCodes.PACKAGE_TOO_LARGE, `decompresses to more than ${maxDecompressed} bytes`);
      await feed(chunk);
    }
  } catch (err) {
    if (!aborter.signal.aborted || !failure) fail(err);
  }
  if (!failure && carry) {
    try {
      if (sawEof) checkTrailing(carry);
      else {
        if (!sniffed) sniff(carry);
        parser.write(carry);
      }
    } catch (err) {
      fail(err);
    }
  }
  if (!failure) {
    parser.end();
    await chain;
    if (!failure && !sawEof) fail(refuse(ErrorCodes.PACKAGE_INVALID, "the archive ends without an end-of-archive marker (truncated?)"));
  } else {
    parser.abort(new Error("refused"));
    await chain.catch(() => undefined);
  }
  if (failure) {
    if (failure.details.data === undefined) (failure.details as { data?: unknown }).data = { decompressedBytes: decompressed };
    throw failure;
  }
  return { files, dirs, decompressedBytes: decompressed };
}

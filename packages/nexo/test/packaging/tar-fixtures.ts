/**
 * Raw ustar building blocks, written by hand so tests can make archives a tar
 * library would refuse to write: escaping paths, links, devices, lying sizes,
 * duplicates, data after the end-of-archive marker.
 */
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

/** ustar type flags: 0 file, 1 hard link, 2 symlink, 3 char device, 4 block device, 5 directory, 6 FIFO, x pax header. */
export type TarType = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "x";

export interface HeaderOptions {
  type?: TarType;
  /** Declared size; defaults to the body length for files, 0 otherwise. */
  size?: number;
  linkname?: string;
  mode?: number;
}

/** One 512-byte header. Sizes past the 11-digit octal field use GNU base-256, as real archivers do. */
export function tarHeader(name: string, options: HeaderOptions = {}): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number): void => void h.write(s.slice(0, len), off, "latin1");
  const type = options.type ?? "0";
  const size = options.size ?? 0;
  put(name, 0, 100);
  put(`${(options.mode ?? (type === "5" ? 0o755 : 0o644)).toString(8).padStart(7, "0")}\0`, 100, 8);
  put("0000000\0", 108, 8);
  put("0000000\0", 116, 8);
  if (size <= 0o77777777777) put(`${size.toString(8).padStart(11, "0")}\0`, 124, 12);
  else {
    h[124] = 0x80;
    let n = BigInt(size);
    for (let i = 135; i > 124; i -= 1) {
      h[i] = Number(n & 0xffn);
      n >>= 8n;
    }
  }
  put("00000000000\0", 136, 12);
  put("        ", 148, 8);
  put(type, 156, 1);
  put(options.linkname ?? "", 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

/** A regular file entry: header, body, padding to the block. */
export function tarFile(name: string, body: string | Buffer, mode = 0o644): Buffer {
  const data = typeof body === "string" ? Buffer.from(body) : body;
  return Buffer.concat([tarHeader(name, { size: data.length, mode }), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A directory entry. */
export function tarDir(name: string): Buffer {
  return tarHeader(name.endsWith("/") ? name : `${name}/`, { type: "5" });
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);

/** The uncompressed tar stream of a `.tgz`, without its end-of-archive marker and padding, so entries can be appended. */
export function tarBodyOf(tgz: string): Buffer {
  const tar = gunzipSync(readFileSync(tgz));
  // Walk the headers to the first zero block: that is where the marker starts.
  let at = 0;
  while (at + 512 <= tar.length && !tar.subarray(at, at + 512).equals(Buffer.alloc(512))) {
    const sizeField = tar
      .subarray(at + 124, at + 136)
      .toString("latin1")
      .replace(/\0.*$/, "")
      .trim();
    const size = parseInt(sizeField || "0", 8);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return tar.subarray(0, at);
}

/** A pax extended header (type `x`) carrying one `key=value` record, e.g. a long comment. */
export function paxHeader(key: string, value: string): Buffer {
  let len = key.length + value.length + 3;
  while (`${len} ${key}=${value}\n`.length !== len) len = `${len} ${key}=${value}\n`.length;
  const body = Buffer.from(`${len} ${key}=${value}\n`);
  return Buffer.concat([tarHeader("PaxHeader", { type: "x", size: body.length }), body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

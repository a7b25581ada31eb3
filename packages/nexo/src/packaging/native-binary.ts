import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { hostTarget } from "./target.js";

/** True when `file` starts like an executable binary (ELF, Mach-O, PE), not a script. */
export function isNativeBinary(file: string): boolean {
  if (!existsSync(file) || !statSync(file).isFile()) return false;
  const head = Buffer.alloc(4);
  const fd = openSync(file, "r");
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  const magic = head.readUInt32BE(0);
  return magic === 0x7f454c46 || [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic) || head.subarray(0, 2).toString("latin1") === "MZ";
}

/**
 * Target triple a compiled entrypoint was built for: `target/<triple>/...`
 * when cargo cross-compiled it, else the host triple `rustc -vV` reports for
 * a Cargo project, else this machine's.
 */
export function nativeTarget(root: string, binaryPath: string): string {
  const m = /(?:^|\/)target\/([a-z0-9_]+-[a-z0-9_.-]+)\/(?:release|debug)\//.exec(binaryPath);
  if (m) return m[1];
  if (existsSync(join(root, "Cargo.toml"))) {
    const r = spawnSync("rustc", ["-vV"], { encoding: "utf8", timeout: 30_000 });
    const host = r.status === 0 ? /^host:\s*(\S+)/m.exec(r.stdout)?.[1] : undefined;
    if (host) return host;
  }
  return hostTarget();
}

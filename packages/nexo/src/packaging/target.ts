import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ErrorCodes, NexoError } from "../errors.js";

/** Target of archives that run on any machine with the language runtime. */
export const NOARCH = "noarch";

/**
 * The Rust target triple of this machine, as release archives name it.
 * `NEXO_INSTALL_TARGET` overrides it (upstream's variable), for installing
 * an archive built for another host on purpose.
 */
export function hostTarget(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEXO_INSTALL_TARGET) return env.NEXO_INSTALL_TARGET;
  const arch =
    ({ x64: "x86_64", arm64: "aarch64", arm: "armv7", ia32: "i686", riscv64: "riscv64gc", s390x: "s390x", ppc64: "powerpc64le" } as Record<string, string>)[process.arch] ??
    process.arch;
  switch (process.platform) {
    case "linux": {
      const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
      const libc = header?.glibcVersionRuntime ? "gnu" : "musl";
      return `${arch}-unknown-linux-${arch === "armv7" ? `${libc}eabihf` : libc}`;
    }
    case "darwin":
      return `${arch}-apple-darwin`;
    case "win32":
      return `${arch}-pc-windows-msvc`;
    default:
      return `${arch}-unknown-${process.platform}`;
  }
}

/**
 * Targets that run here, best first: the host triple, its statically linked
 * musl sibling on a glibc host (upstream's fallback), then `noarch`.
 */
export function compatibleTargets(host: string): string[] {
  const out = [host];
  if (host.endsWith("-gnu")) out.push(`${host.slice(0, -4)}-musl`);
  out.push(NOARCH);
  return out;
}

/** Release archive name: `<id>-<version>-<target>.tar.gz`. */
export function releaseArchiveName(id: string, version: string, target: string): string {
  return `${id}-${version}-${target}.tar.gz`;
}

/** The target a release archive's file name claims for plugin `id@version`, or null when the name is not in that form. */
export function targetFromName(file: string, id: string, version: string): string | null {
  const name = basename(file);
  const prefix = `${id}-${version}-`;
  return name.startsWith(prefix) && name.endsWith(".tar.gz") ? name.slice(prefix.length, -".tar.gz".length) || null : null;
}

/**
 * Pick the archive to install from what the user named: one archive is used
 * as is; a directory or several archives are narrowed to the release archives
 * for this host, best target first (host triple over musl over `noarch`).
 * Nexo's own `<id>-<version>.tgz` packs count as `noarch`.
 */
export function selectArchive(paths: string[], host: string): string {
  const files: string[] = [];
  for (const p of paths.map((x) => resolve(x))) {
    if (!existsSync(p)) throw new NexoError(ErrorCodes.PACKAGE_NOT_FOUND, `no package file or directory at ${p}`, { file: p });
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) if (/\.(tar\.gz|tgz)$/.test(name) && statSync(join(p, name)).isFile()) files.push(join(p, name));
    } else files.push(p);
  }
  if (files.length === 1 && paths.length === 1 && !statSync(resolve(paths[0])).isDirectory()) return files[0];
  if (files.length === 0) throw new NexoError(ErrorCodes.PACKAGE_NOT_FOUND, `no .tar.gz or .tgz archive in ${paths.join(", ")}`, { file: paths[0] });
  const ranked = compatibleTargets(host);
  const score = (f: string): number => {
    const name = basename(f);
    for (let i = 0; i < ranked.length; i += 1) if (name.endsWith(`-${ranked[i]}.tar.gz`)) return ranked.length - i;
    return name.endsWith(".tgz") ? 1 : 0;
  };
  const best = Math.max(...files.map(score));
  const winners = files.filter((f) => score(f) === best);
  if (best === 0) {
    throw new NexoError(
      ErrorCodes.PACKAGE_TARGET,
      `none of ${files.map((f) => basename(f)).join(", ")} is built for this host (${ranked.join(" or ")}); ask for a build for ${host} or set NEXO_INSTALL_TARGET`,
      { file: files[0] },
    );
  }
  if (winners.length > 1) {
    throw new NexoError(ErrorCodes.PACKAGE_INVALID, `several archives fit this host equally (${winners.map((f) => basename(f)).join(", ")}); name the one to install`, {
      file: winners[0],
    });
  }
  return winners[0];
}

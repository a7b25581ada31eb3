// A stand-in for registry.npmjs.org on loopback, speaking the registry's read
// protocol (GET /<name> packument, GET <tarball>), so `npm install` runs for
// real with no traffic leaving the machine. It serves every package of the
// repository's package-lock.json, the tarball bytes straight from the npm
// cache `npm ci` filled (content-addressed by the lockfile's integrity), plus
// any local tarballs handed to it (the packed SDK, as if published).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  bin?: Record<string, string> | string;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  license?: string;
}

/** Options of `startFakeNpmRegistry`. */
export interface FakeNpmRegistryOptions {
  /** package-lock.json whose packages are served; the installed `node_modules` beside it supplies each package's `scripts`. */
  lockfile: string;
  /** The npm cache holding their tarballs. Default `~/.npm` (or `$npm_config_cache`). */
  cache?: string;
  /** Extra packages served from local tarballs: name, version, its package.json fields, the file. */
  tarballs?: Array<{ name: string; version: string; manifest: Record<string, unknown>; file: string }>;
}

/** A running fake registry; `url` ends with `/`. `requests` lists every path asked for. */
export interface FakeNpmRegistry {
  url: string;
  requests: string[];
}

function contentPath(cache: string, integrity: string): string {
  const [algo, b64] = integrity.split(" ")[0].split(/-(.*)/s);
  const hex = Buffer.from(b64, "base64").toString("hex");
  return join(cache, "_cacache", "content-v2", algo, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

/** Start the registry on a free loopback port; closed by `t.after`. */
export async function startFakeNpmRegistry(t: TestContext, options: FakeNpmRegistryOptions): Promise<FakeNpmRegistry> {
  const cache = options.cache ?? process.env.npm_config_cache ?? join(homedir(), ".npm");
  const lock = JSON.parse(readFileSync(options.lockfile, "utf8")) as { packages: Record<string, LockEntry> };
  // name -> version -> [version metadata, tarball file]
  const packages = new Map<string, Map<string, { meta: Record<string, unknown>; file: string }>>();
  const add = (name: string, version: string, meta: Record<string, unknown>, file: string): void => {
    if (!packages.has(name)) packages.set(name, new Map());
    packages.get(name)!.set(version, { meta, file });
  };
  for (const [path, e] of Object.entries(lock.packages)) {
    const i = path.lastIndexOf("node_modules/");
    if (i < 0 || e.link || !e.version || !e.integrity) continue;
    const name = path.slice(i + "node_modules/".length);
    const { version, integrity, ...fields } = e;
    delete (fields as Record<string, unknown>).dev;
    delete (fields as Record<string, unknown>).optional;
    delete (fields as Record<string, unknown>).devOptional;
    delete (fields as Record<string, unknown>).funding;
    delete (fields as Record<string, unknown>).hasInstallScript;
    // npm decides which install script runs from the packument (a package with a binding.gyp and no
    // `scripts.install` gets `node-gyp rebuild`), so serve the real scripts from the installed copy.
    const installed = join(dirname(options.lockfile), path, "package.json");
    const scripts = existsSync(installed) ? (JSON.parse(readFileSync(installed, "utf8")) as { scripts?: Record<string, string>; version?: string }) : {};
    add(
      name,
      version,
      { name, version, ...fields, ...(scripts.version === version && scripts.scripts ? { scripts: scripts.scripts } : {}), dist: { integrity } },
      contentPath(cache, integrity),
    );
  }
  for (const tb of options.tarballs ?? []) {
    const bytes = readFileSync(tb.file);
    const integrity = `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
    add(tb.name, tb.version, { ...tb.manifest, name: tb.name, version: tb.version, dist: { integrity } }, tb.file);
  }

  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]).replace(/^\/+/, "");
    requests.push(path);
    const tarball = /^(.+)\/-\/[^/]+-(\d[^/]*)\.tgz$/.exec(path);
    if (tarball) {
      const entry = packages.get(tarball[1])?.get(tarball[2]);
      if (!entry || !existsSync(entry.file)) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: `not in the npm cache: ${path}` }));
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(entry.file));
      return;
    }
    const versions = packages.get(path);
    if (!versions) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "Not found" }));
      return;
    }
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const short = path.split("/").pop();
    const body: Record<string, unknown> = { name: path, "dist-tags": {}, versions: {} };
    let latest = "";
    for (const [v, { meta }] of versions) {
      (body.versions as Record<string, unknown>)[v] = { ...meta, dist: { ...(meta.dist as object), tarball: `${base}${path}/-/${short}-${v}.tgz` } };
      if (!latest || compareVersions(v, latest) > 0) latest = v;
    }
    body["dist-tags"] = { latest };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, requests };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number(x));
  const pb = b.split(/[.+-]/).map((x) => Number(x));
  for (let i = 0; i < 3; i++) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  return 0;
}

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, type TestContext } from "node:test";
import pg from "pg";
import { freePort } from "./nats-server.js";

/** A running PostgreSQL cluster on loopback; `stop` shuts it down and removes its directory. */
export interface PostgresServer {
  /** `postgres://nexo@127.0.0.1:<port>/postgres` (trust auth: no password needed). */
  url: string;
  port: number;
  /** A new empty database on this server; its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

const USER = "nexo";
const STDERR_TAIL = 4096;
let dbCounter = 0;

/** The newest /usr/lib/postgresql/<version>/bin holding initdb and postgres, or null. */
export function findPostgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")) && existsSync(join(root, v, "bin", "postgres")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions.length ? join(root, versions[0], "bin") : null;
}

/**
 * PostgreSQL refuses to run as root: as root, initdb and postgres run as the
 * `postgres` user (the Debian package creates it), else as `nobody`.
 */
function unprivilegedIds(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  for (const user of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    } catch {
      // try the next user
    }
  }
  throw new Error("running as root and neither a postgres nor a nobody user exists to run PostgreSQL as");
}

function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on("error", () => undefined);
  return client
    .connect()
    .then(() => client.query("SELECT 1"))
    .then(
      () => true,
      () => false,
    )
    .finally(() => client.end().catch(() => undefined));
}

function initCluster(bin: string, ids: { uid: number; gid: number } | null): string {
  // Under root the cluster's directory must be reachable by the unprivileged user: /tmp is (mode 1777), $TMPDIR may not be.
  const base = ids ? "/tmp" : tmpdir();
  const dir = mkdtempSync(join(base, "nexo-pg-"));
  const data = join(dir, "data");
  const sockets = join(dir, "sock");
  mkdirSync(sockets);
  if (ids) {
    chownSync(dir, ids.uid, ids.gid);
    chownSync(sockets, ids.uid, ids.gid);
  }
  try {
    execFileSync(join(bin, "initdb"), ["-D", data, "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], {
      stdio: ["ignore", "ignore", "pipe"],
      cwd: dir,
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`initdb failed: ${stderr.trim() || (err as Error).message}`, { cause: err });
  }
  return dir;
}

async function launch(bin: string, dir: string, ids: { uid: number; gid: number } | null): Promise<PostgresServer> {
  const port = await freePort();
  // Durability settings off: a test cluster trades crash safety for start-up and write speed.
  const args = [
    "-D",
    join(dir, "data"),
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-k",
    join(dir, "sock"),
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=100",
  ];
  const child: ChildProcess = spawn(join(bin, "postgres"), args, {
    stdio: ["ignore", "ignore", "pipe"],
    cwd: dir,
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" },
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_TAIL)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const halt = async (): Promise<void> => {
    // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, the server exits at once.
    if (running()) child.kill("SIGINT");
    const killed = setTimeout(() => running() && child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(killed);
  };
  const url = `postgres://${USER}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running()) throw new Error(`postgres exited before accepting connections on 127.0.0.1:${port} (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
    if (await canQuery(url)) break;
    if (Date.now() > deadline) {
      await halt();
      throw new Error(`postgres did not accept connections on 127.0.0.1:${port} within 30 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    async createDatabase(name = `t${process.pid}_${++dbCounter}`) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${USER}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Start a real PostgreSQL (initdb into a temp dir, then `postgres` on 127.0.0.1
 * and a free port, its Unix socket in the temp dir) and wait until it answers a
 * query. As root, both run as an unprivileged user. Without PostgreSQL
 * installed: throws under CI=true (scripts/setup.sh installs it), otherwise
 * skips `t` and returns null.
 */
export async function startPostgresServer(t?: TestContext): Promise<PostgresServer | null> {
  const bin = findPostgresBin();
  if (!bin) {
    if (process.env.CI === "true" || !t) throw new Error("PostgreSQL is not installed (apt-get install postgresql; scripts/setup.sh installs it)");
    t.skip("PostgreSQL not installed (scripts/setup.sh installs it)");
    return null;
  }
  const ids = unprivilegedIds();
  const dir = initCluster(bin, ids);
  // The free port can be taken between probe and bind: retry on an early exit.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(bin, dir, ids);
    } catch (err) {
      lastErr = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastErr;
}

/**
 * One cluster for a whole test file (initdb costs about a second): call at the
 * top level of the file (so the stop hook belongs to the file, not to a test);
 * the returned function starts the cluster on first use and gives each test the
 * same server, or null when the test was skipped. Tests take their own
 * `createDatabase()`.
 * @example const postgres = usePostgresServer(); test("x", async (t) => { const pgs = await postgres(t); ... });
 */
export function usePostgresServer(): (t: TestContext) => Promise<PostgresServer | null> {
  let started: Promise<PostgresServer | null> | undefined;
  after(async () => {
    const server = await started?.catch(() => null);
    await server?.stop();
  });
  return (t) => {
    if (!findPostgresBin() && process.env.CI !== "true") {
      t.skip("PostgreSQL not installed (scripts/setup.sh installs it)");
      return Promise.resolve(null);
    }
    started ??= startPostgresServer();
    return started;
  };
}

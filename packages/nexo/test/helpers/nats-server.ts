import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createServer, connect } from "node:net";
import type { TestContext } from "node:test";

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Path of the nats-server binary (apt installs it in /usr/sbin), or null. */
export function findNatsServer(): string | null {
  for (const p of ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]) {
    try {
      execFileSync(p, ["--version"], { stdio: "ignore" });
      return p;
    } catch {
      // try the next
    }
  }
  return null;
}

/** A running nats-server; `stop` kills it and resolves once it has exited. */
export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A nats-server with JetStream storing under `storeDir`, restartable on the
 * same port and store (an outage the clients reconnect through). `stop`
 * kills the current process (SIGKILL); `start` launches a new one.
 */
export async function startJetStreamServer(t: TestContext, storeDir: string): Promise<(NatsServer & { start(): Promise<void> }) | null> {
  const first = await startNatsServer(t, ["-js", "-sd", storeDir]);
  if (!first) return null;
  let current: NatsServer = first;
  return {
    url: first.url,
    port: first.port,
    stop: () => current.stop(),
    start: async () => {
      await current.stop();
      current = (await startNatsServer(t, ["-js", "-sd", storeDir], first.port))!;
    },
  };
}

const STDERR_TAIL = 4096;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

async function launch(bin: string, extraArgs: string[], fixedPort?: number): Promise<NatsServer> {
  const port = fixedPort ?? (await freePort());
  const child: ChildProcess = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), ...extraArgs], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_TAIL)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server exited before listening on 127.0.0.1:${port} (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server did not listen on 127.0.0.1:${port} within 15 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, port, stop };
}

/**
 * Start a real nats-server on 127.0.0.1 and a free port, waiting until it
 * accepts connections. The caller registers `stop` with `t.after` AFTER its
 * clients' close (after-hooks run in registration order, and a client closing
 * against a dead server waits for its drain deadline).
 * Without the binary: throws under CI=true (scripts/setup.sh installs it, so the
 * test fails), otherwise skips `t` and returns null.
 */
export async function startNatsServer(t?: TestContext, extraArgs: string[] = [], port?: number): Promise<NatsServer | null> {
  const bin = findNatsServer();
  if (!bin) {
    if (process.env.CI === "true" || !t) throw new Error("nats-server is not installed (apt-get install nats-server; scripts/setup.sh installs it)");
    t.skip("nats-server not installed (scripts/setup.sh installs it)");
    return null;
  }
  // The free port can be taken between probe and bind: retry a couple of times on an early exit.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(bin, extraArgs, port);
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

import { spawn, execFileSync } from "node:child_process";
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

function findNatsServer(): string | null {
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

/**
 * Start a real nats-server on 127.0.0.1 and a free port. The caller registers
 * `stop` with `t.after` AFTER closing its clients (node:test runs after-hooks in
 * registration order, and a client closing against a dead server waits for it).
 * Without the binary: fails under CI=true (scripts/setup.sh installs it), skips otherwise.
 */
export async function startNatsServer(t: TestContext): Promise<{ url: string; stop(): Promise<void> } | null> {
  const bin = findNatsServer();
  if (!bin) {
    if (process.env.CI === "true") throw new Error("nats-server is not installed; run scripts/setup.sh");
    t.skip("nats-server not installed (scripts/setup.sh installs it)");
    return null;
  }
  const port = await freePort();
  const child = spawn(bin, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error("nats-server did not start listening");
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, stop };
}

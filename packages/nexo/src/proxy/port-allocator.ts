import { createServer } from "node:net";
import { ErrorCodes, NexoError } from "../errors.js";

/** How many times a fresh port is drawn when the OS hands back one another plugin holds. */
const MAX_DRAWS = 20;

/** True when `port` can be bound on `host` right now (bound, then released at once). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS reports free on `host` (bind port 0, read it, release it). */
export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no port from the OS on ${host}`))));
    });
  });
}

/**
 * Hands each `http_server` plugin its port before every (re)spawn: a fixed
 * port as declared; for `port = 0` a free loopback port, the same one as last
 * time when it is still free (so a restarted plugin keeps its address), and
 * never one another plugin was given. Between the check and the child's own
 * bind the port could be taken by someone else: the child then fails to bind,
 * its health check never passes, and the proxy answers 503/502 naming it.
 */
export class PortAllocator {
  private readonly ports = new Map<string, number>();

  /** The port to pass in `NEXO_PLUGIN_HTTP_PORT` for plugin `key`. Rejects NEXO_ERR_PROXY_PORT_UNAVAILABLE. */
  async allocate(key: string, host: string, declared: number): Promise<number> {
    if (declared !== 0) {
      this.ports.set(key, declared);
      return declared;
    }
    const previous = this.ports.get(key);
    if (previous !== undefined && (await isPortFree(host, previous))) return previous;
    const taken = new Set([...this.ports].filter(([k]) => k !== key).map(([, p]) => p));
    for (let i = 0; i < MAX_DRAWS; i++) {
      let port: number;
      try {
        port = await findFreePort(host);
      } catch (err) {
        throw new NexoError(ErrorCodes.PROXY_PORT_UNAVAILABLE, `plugin ${key}: cannot allocate a port on ${host}: ${(err as Error).message}`, { pluginId: key, cause: err });
      }
      if (!taken.has(port)) {
        this.ports.set(key, port);
        return port;
      }
    }
    throw new NexoError(ErrorCodes.PROXY_PORT_UNAVAILABLE, `plugin ${key}: the OS kept handing out ports other plugins hold on ${host}`, { pluginId: key });
  }

  /** The port last given to `key`, if any. */
  portOf(key: string): number | undefined {
    return this.ports.get(key);
  }
}

import type { ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { lstat } from "node:fs";
import { buildConnector, Pool } from "undici";
import { ErrorCodes, NexoError } from "../errors.js";
import type { PluginSupervisor } from "../host/index.js";
import type { Logger } from "../log/index.js";
import { forwardRequest, hostHeader } from "./forward.js";
import { HealthProbe } from "./health-probe.js";

/** Idle keep-alive sockets to a plugin are closed after this, below Node's 5 s server keep-alive, so a reused socket is never one the plugin just closed. */
const FREE_SOCKET_TIMEOUT_MS = 4000;
/** Most connections to one plugin at once; more requests queue in the pool. */
const MAX_CONNECTIONS = 256;
/** Seconds a client is told to wait (Retry-After) while a plugin starts or restarts. */
const RETRY_AFTER_SECONDS = "1";

/** Options of a PluginMount. */
export interface PluginMountOptions {
  supervisor: PluginSupervisor;
  /** The route, `mount_prefix` (plus `/<instance>` for an instance). */
  prefix: string;
  host: string;
  healthPath: string;
  timeoutMs: number;
  maxBodyBytes: number;
  /** The port the plugin was last given. */
  portOf: () => number | undefined;
  /** The Unix socket a sandboxed plugin's port is bridged to, when it is (then the proxy connects there). Default none. */
  socketOf?: () => string | undefined;
  logger: Logger;
  /** First delay between health probes. Default 50 ms. */
  probeIntervalMs?: number;
}

/** What the proxy can do for a mount right now. */
type Gate = { ok: true; port: number } | { ok: false; error: NexoError; retryAfter: boolean };

/**
 * One plugin's route: follows its supervisor, probes `health_path` on each
 * new process, and forwards requests only while the process is ready and
 * healthy; otherwise answers 503 (starting, not healthy yet) or 502 (down).
 */
export class PluginMount {
  readonly prefix: string;
  private healthy = false;
  private pid: number | null = null;
  private lastError: string | null = null;
  /** Keep-alive connections to the plugin's port, renewed with each new process. */
  private pool: Pool | undefined;
  private readonly probe: HealthProbe;
  /** Responses being proxied now, so a stopping daemon can cut long streams. */
  private readonly inFlight = new Set<ServerResponse>();
  private readonly offStatus: () => void;
  private readonly log: Logger;

  constructor(private readonly options: PluginMountOptions) {
    this.prefix = options.prefix;
    this.log = options.logger.child({ plugin: options.supervisor.key, route: options.prefix });
    this.probe = new HealthProbe({
      host: options.host,
      path: options.healthPath,
      ...(options.probeIntervalMs !== undefined ? { intervalMs: options.probeIntervalMs } : {}),
      onHealthy: (port) => {
        this.healthy = true;
        this.log.info({ port }, "plugin route ready: health check passed");
      },
    });
    this.offStatus = options.supervisor.onStatus((status) => {
      this.lastError = status.lastError;
      this.follow(status.state, status.pid);
    });
    const s = options.supervisor.status();
    this.lastError = s.lastError;
    this.follow(s.state, s.pid);
  }

  /** The plugin key this mount routes to. */
  get key(): string {
    return this.options.supervisor.key;
  }

  /** True when requests are forwarded (process ready and health path answered 2xx). */
  get isReady(): boolean {
    return this.gate().ok;
  }

  /** One line for `nexo plugin status` and `/health`: `/webhook/x -> 127.0.0.1:41234 (ready)`. */
  describe(): string {
    const port = this.options.portOf();
    const socket = this.options.socketOf?.();
    const target =
      port === undefined ? "(no port yet)" : `${socket ? `unix:${socket} -> ` : ""}${this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host}:${port}`;
    const g = this.gate();
    const why = g.ok ? "ready" : g.error.code === ErrorCodes.PROXY_NOT_READY ? `waiting for GET ${this.options.healthPath} to answer 2xx` : "plugin down";
    return `${this.prefix} -> ${target} (${why})`;
  }

  /** Fastify handler of both routes of this mount. */
  handle(request: FastifyRequest, reply: FastifyReply): void {
    const g = this.gate();
    if (!g.ok) {
      if (g.retryAfter) reply.header("retry-after", RETRY_AFTER_SECONDS);
      reply.send(g.error);
      return;
    }
    const res = reply.raw;
    this.inFlight.add(res);
    res.once("close", () => this.inFlight.delete(res));
    forwardRequest(request, reply, {
      pluginKey: this.key,
      prefix: this.prefix,
      host: this.options.host,
      port: g.port,
      dispatcher: this.poolFor(g.port),
      timeoutMs: this.options.timeoutMs,
      maxBodyBytes: this.options.maxBodyBytes,
      logger: this.log,
    });
  }

  /** Cut every exchange still in progress (their clients see the connection close). Returns how many. */
  abortInFlight(): number {
    const n = this.inFlight.size;
    for (const res of this.inFlight) res.destroy();
    this.inFlight.clear();
    return n;
  }

  /** Stop following the plugin: no more probes, idle sockets closed. Requests in flight finish (see abortInFlight). */
  close(): void {
    this.offStatus();
    this.probe.stop();
    this.dropPool();
  }

  private follow(state: string, pid: number | null): void {
    if (state === "ready" && pid !== null) {
      if (pid === this.pid) return;
      this.pid = pid;
      this.healthy = false;
      this.dropPool();
      const port = this.options.portOf();
      if (port !== undefined) this.probe.start(port, this.options.socketOf?.());
      return;
    }
    if (this.pid !== null || this.healthy) {
      this.pid = null;
      this.healthy = false;
      this.probe.stop();
      // Sockets to a dead process would fail the next requests: start a fresh pool.
      this.dropPool();
    }
  }

  /** The pool to `port` (or its bridge socket), made on first use for each process of the plugin. */
  private poolFor(port: number): Pool {
    if (!this.pool) {
      const socketPath = this.options.socketOf?.();
      this.pool = new Pool(`http://${hostHeader(this.options.host, port)}`, {
        ...(socketPath ? { connect: socketConnector(socketPath) } : {}),
        connections: MAX_CONNECTIONS,
        pipelining: 1,
        keepAliveTimeout: FREE_SOCKET_TIMEOUT_MS,
        keepAliveMaxTimeout: FREE_SOCKET_TIMEOUT_MS,
      });
    }
    return this.pool;
  }

  /** Close the pool's connections; requests still running on it fail (and are answered 502). */
  private dropPool(): void {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) void pool.destroy().catch(() => undefined);
  }

  private gate(): Gate {
    const sup = this.options.supervisor;
    const state = sup.currentState;
    const key = sup.key;
    const port = this.options.portOf();
    if (state === "ready" && port !== undefined) {
      if (this.healthy) return { ok: true, port };
      return {
        ok: false,
        retryAfter: true,
        error: new NexoError(ErrorCodes.PROXY_NOT_READY, `plugin ${key} is running but GET ${this.options.healthPath} has not answered 2xx yet; retry shortly`, { pluginId: key }),
      };
    }
    if (state === "starting") {
      return { ok: false, retryAfter: true, error: new NexoError(ErrorCodes.PROXY_NOT_READY, `plugin ${key} is starting; retry shortly`, { pluginId: key }) };
    }
    if (state === "restarting") {
      return {
        ok: false,
        retryAfter: true,
        error: new NexoError(ErrorCodes.PROXY_PLUGIN_DOWN, `plugin ${key} is down (it exited and is being restarted); retry shortly`, { pluginId: key }),
      };
    }
    // Not sup.status(): that asks this mount for its route line.
    const last = this.lastError;
    return {
      ok: false,
      retryAfter: false,
      error: new NexoError(
        ErrorCodes.PROXY_PLUGIN_DOWN,
        `plugin ${key} is down (${state}${last ? `: ${last}` : ""}); see \`nexo plugin status ${key}\`, restart it with \`nexo plugin restart ${key}\``,
        {
          pluginId: key,
        },
      ),
    };
  }
}

/**
 * Connects to a bridge socket, checking first that the path is a socket: the
 * plugin can write its socket directory, and a symlink planted there must not
 * send its route's traffic to another socket of the host. (A swap between the
 * check and the connect could still do so; the socket directory is the
 * plugin's alone, so only its own route is at stake.)
 */
function socketConnector(socketPath: string): buildConnector.connector {
  const connect = buildConnector({ socketPath });
  return (opts, callback) => {
    lstat(socketPath, (err, st) => {
      if (err) return callback(err, null);
      if (!st.isSocket()) return callback(Object.assign(new Error(`${socketPath} is not a socket`), { code: "ENOTSOCK" }), null);
      connect(opts, callback);
    });
  };
}

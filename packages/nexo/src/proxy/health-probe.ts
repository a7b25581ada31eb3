import { get as httpGet } from "node:http";

/** Options of a HealthProbe; every field but the target has a default. */
export interface HealthProbeOptions {
  host: string;
  /** Path probed with GET, from `[plugin.capabilities.http_server] health_path`. */
  path: string;
  /** First delay between probes, doubling up to `maxIntervalMs`. Default 50 ms. */
  intervalMs?: number;
  /** Longest delay between probes. Default 1000 ms. */
  maxIntervalMs?: number;
  /** Deadline of one probe. Default 2000 ms. */
  requestTimeoutMs?: number;
  /** Called once per `start()` when the path first answers 2xx. */
  onHealthy: (port: number) => void;
}

/**
 * Polls a plugin's health path until it answers 2xx, then stops: the proxy
 * routes to a plugin only after that. `start()` again for each new process.
 * Each probe uses its own connection, so a half-started server cannot poison
 * the proxy's keep-alive pool. `stop()` cancels the pending probe (no timers left).
 */
export class HealthProbe {
  private timer: NodeJS.Timeout | undefined;
  private run = 0;
  private readonly opts: Required<HealthProbeOptions>;

  constructor(options: HealthProbeOptions) {
    this.opts = { intervalMs: 50, maxIntervalMs: 1000, requestTimeoutMs: 2000, ...options };
  }

  /** Start probing `port`, over the Unix socket `socketPath` when given (cancels any probing in progress). */
  start(port: number, socketPath?: string): void {
    this.stop();
    const run = this.run;
    let delay = this.opts.intervalMs;
    const attempt = (): void => {
      this.timer = undefined;
      void this.probe(port, socketPath).then((ok) => {
        if (run !== this.run) return;
        if (ok) return this.opts.onHealthy(port);
        this.timer = setTimeout(attempt, delay);
        this.timer.unref();
        delay = Math.min(delay * 2, this.opts.maxIntervalMs);
      });
    };
    attempt();
  }

  /** Stop probing. */
  stop(): void {
    this.run += 1;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private probe(port: number, socketPath: string | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      const target = socketPath
        ? { socketPath, headers: { host: `${this.opts.host.includes(":") ? `[${this.opts.host}]` : this.opts.host}:${port}` } }
        : { host: this.opts.host, port };
      const req = httpGet({ ...target, path: this.opts.path, agent: false, timeout: this.opts.requestTimeoutMs }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 300);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
    });
  }
}

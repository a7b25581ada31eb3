import { PAGE_POLICY_HEADERS } from "../surfaces/http/index.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ErrorCodes, NexoError } from "../errors.js";
import { pluginKey, type PluginHost, type PluginSpec, type PluginSupervisor } from "../host/index.js";
import { isGranted } from "../host/permissions/index.js";
import type { Logger } from "../log/index.js";
import { checkMountPrefix } from "../manifest/index.js";
import { BrokerHttpMount } from "./broker-http-mount.js";
import { PluginMount } from "./plugin-mount.js";
import { PortAllocator } from "./port-allocator.js";

/** Env var carrying the plugin's HTTP port (docs/contract.md, `[plugin.capabilities.http_server]`). */
export const HTTP_PORT_ENV = "NEXO_PLUGIN_HTTP_PORT";
/** (Nexo) Env var carrying the address the plugin should bind (its manifest's `bind`). */
export const HTTP_HOST_ENV = "NEXO_PLUGIN_HTTP_HOST";
/** Env var upstream's daemon sets to tell a plugin how to reach the broker; Nexo bridges everything over stdio. */
export const BROKER_KIND_ENV = "NEXO_BROKER_KIND";

/** Options of the http_server capability. */
export interface PluginHttpProxyOptions {
  /** The app's fastify instance; mounts are added to it before it starts listening. */
  http: FastifyInstance;
  host: PluginHost;
  logger: Logger;
  /** Largest proxied request body (413 above). */
  maxBodyBytes: number;
  /** First delay between health probes. Default 50 ms. */
  probeIntervalMs?: number;
  /** When the HTTP server closes, proxied exchanges still running after this are cut (long streams would hold the stop forever). Default 5000 ms. */
  closeGraceMs?: number;
}

/** What both kinds of route share: the reverse proxy (PluginMount) and the broker-RPC proxy (BrokerHttpMount). */
type Mount = PluginMount | BrokerHttpMount;

/** A route as listed by `routes()`. */
export interface ProxyRoute {
  plugin: string;
  prefix: string;
  ready: boolean;
  /** Set when the route was refused (conflict); the plugin still runs without it. */
  refused?: string;
}

/**
 * The `http_server` capability (pattern 2, docs/writing-plugins.md): hands each plugin that
 * declares it a port (`NEXO_PLUGIN_HTTP_PORT`, free loopback port for
 * `port = 0`), and reverse-proxies each `[plugin.http] mount_prefix` on the
 * app's own HTTP port to it. Routes are registered by `mountAll()` before the
 * HTTP server starts, in their own fastify context (raw bodies, no parsing) that
 * inherits the app's hooks, so auth and rate limits apply to proxied routes.
 */
export class PluginHttpProxy {
  private readonly ports = new PortAllocator();
  private readonly mounts = new Map<string, Mount>();
  private readonly refused = new Map<string, { prefix: string; reason: string }>();
  /** Prefixes with a route on the HTTP server; the route finds its mount per request, so a plugin can come and go under it. */
  private readonly routed = new Set<string>();
  private mounted = false;

  constructor(private readonly options: PluginHttpProxyOptions) {}

  /**
   * Host env for one (re)spawn of `spec`: its HTTP port and bind address with
   * `http_server`; `NEXO_BROKER_KIND=stdio_bridge` for a broker-RPC
   * `[plugin.http]`; nothing otherwise. Called by the plugin host
   * before every spawn, so a restarted plugin gets a port again (the same one while it is free).
   */
  async envFor(spec: PluginSpec): Promise<Record<string, string>> {
    const hs = spec.manifest.httpServer;
    // Upstream plugins reach the broker through the stdio bridge only when told so (else they dial NATS).
    if (!hs) return spec.manifest.http ? { [BROKER_KIND_ENV]: "stdio_bridge" } : {};
    const port = await this.ports.allocate(pluginKey(spec), hs.bind, hs.port);
    return { [HTTP_PORT_ENV]: String(port), [HTTP_HOST_ENV]: hs.bind };
  }

  /** The port plugin `key` was last given, if any. */
  portOf(key: string): number | undefined {
    return this.ports.portOf(key);
  }

  /** The route line for `nexo plugin status`, or undefined when `key` has no `[plugin.http]`. */
  describeRoute(key: string): string | undefined {
    const m = this.mounts.get(key);
    if (m) return m.describe();
    const r = this.refused.get(key);
    return r ? `${r.prefix} (refused: ${r.reason})` : undefined;
  }

  /** Every route, mounted or refused. */
  routes(): ProxyRoute[] {
    return [
      ...[...this.mounts.values()].map((m) => ({ plugin: m.key, prefix: m.prefix, ready: m.isReady })),
      ...[...this.refused].map(([plugin, r]) => ({ plugin, prefix: r.prefix, ready: false, refused: r.reason })),
    ];
  }

  /**
   * Register a route per plugin with `[plugin.http]` (prefix plus `/<instance>`
   * for an instance): a reverse proxy to its port with
   * `[plugin.capabilities.http_server]`, upstream's broker-RPC proxy without.
   * A prefix that is not literal or is reserved (checked again here: a manifest
   * built in code skips validation), equal to or nested in another plugin's,
   * or one the app already serves, is refused (NEXO_ERR_PROXY_MOUNT_CONFLICT,
   * logged): that plugin runs without a route, the others are served. Call
   * once, before the HTTP server starts.
   */
  mountAll(): void {
    if (this.mounted) return;
    this.mounted = true;
    const { http, host, logger } = this.options;
    this.warnSharedFixedPorts();
    const added: Mount[] = [];
    for (const sup of host.list()) {
      const m = sup.spec.manifest;
      if (!m.http) continue;
      const prefix = sup.spec.instance ? `${m.http.mountPrefix}/${sup.spec.instance}` : m.http.mountPrefix;
      const reason =
        m.httpServer && !isGranted(sup.permissions, "http_server")
          ? `needs http_server, which is not granted to plugin ${sup.key} (plugins.${m.id}.grants in nexo.yaml)`
          : this.conflict(prefix, added);
      if (reason) {
        this.refuse(sup.key, prefix, reason);
        continue;
      }
      const mount = this.createMount(sup, prefix);
      this.mounts.set(sup.key, mount);
      added.push(mount);
    }
    // Plugins added or removed later (a config reload) take or leave routes under the prefixes registered now.
    host.onPluginAdded((sup) => this.mountLate(sup));
    host.onPluginRemoved((sup) => this.unmount(sup));
    if (added.length === 0) return;
    http.addHook("preClose", async () => {
      const timer = setTimeout(() => {
        const cut = [...this.mounts.values()].reduce((n, m) => n + m.abortInFlight(), 0);
        if (cut > 0) logger.warn({ cut, graceMs: this.options.closeGraceMs ?? 5000 }, "HTTP server closing: proxied requests still running were cut");
      }, this.options.closeGraceMs ?? 5000);
      timer.unref();
      http.server.once("close", () => clearTimeout(timer));
    });
    // Own context: the app's JSON parsing must not touch proxied bodies, which stream through as they arrive.
    void http.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
      // The plugin's pages set their own page policy (CSP, framing, CORP); the API's would break them.
      scope.addHook("onRequest", (_request, reply, done) => {
        for (const name of PAGE_POLICY_HEADERS) reply.removeHeader(name);
        done();
      });
      for (const mount of added) {
        const { prefix } = mount;
        const handler = (request: FastifyRequest, reply: FastifyReply): void => {
          const current = this.mountAt(prefix);
          if (current) current.handle(request, reply);
          else reply.callNotFound();
        };
        try {
          scope.all(prefix, handler);
          scope.all(`${prefix}/*`, handler);
          this.routed.add(prefix);
          logger.info({ plugin: mount.key, route: prefix }, "plugin route mounted");
        } catch (err) {
          // One plugin's route must never keep the daemon from starting.
          mount.close();
          this.mounts.delete(mount.key);
          this.refuse(mount.key, mount.prefix, `cannot be routed (${(err as Error).message})`);
        }
      }
    });
  }

  /**
   * True when `prefix` has a route on the HTTP server. Routes are registered
   * before the server listens (fastify takes no new ones after), so a reload
   * can give a prefix routed at start to another plugin, but a new prefix
   * waits for a restart.
   */
  isRouted(prefix: string): boolean {
    return this.routed.has(prefix);
  }

  private mountAt(prefix: string): Mount | undefined {
    for (const m of this.mounts.values()) if (m.prefix === prefix) return m;
    return undefined;
  }

  private createMount(sup: PluginSupervisor, prefix: string): Mount {
    const m = sup.spec.manifest;
    const common = { supervisor: sup, prefix, timeoutMs: m.http!.timeoutSeconds * 1000, maxBodyBytes: this.options.maxBodyBytes, logger: this.options.logger };
    return m.httpServer
      ? new PluginMount({
          ...common,
          host: m.httpServer.bind,
          healthPath: m.httpServer.healthPath,
          portOf: () => this.ports.portOf(sup.key),
          socketOf: () => sup.httpSocket,
          ...(this.options.probeIntervalMs !== undefined ? { probeIntervalMs: this.options.probeIntervalMs } : {}),
        })
      : new BrokerHttpMount(common);
  }

  /** A plugin added after start: it serves its prefix if that prefix was routed at start and no other plugin holds it. */
  private mountLate(sup: PluginSupervisor): void {
    const m = sup.spec.manifest;
    if (!m.http) return;
    const prefix = sup.spec.instance ? `${m.http.mountPrefix}/${sup.spec.instance}` : m.http.mountPrefix;
    this.refused.delete(sup.key);
    if (m.httpServer && !isGranted(sup.permissions, "http_server")) {
      this.refuse(sup.key, prefix, `needs http_server, which is not granted to plugin ${sup.key} (plugins.${m.id}.grants in nexo.yaml)`);
      return;
    }
    if (!this.routed.has(prefix)) {
      this.refuse(sup.key, prefix, "is new since the daemon started: routes are registered when the HTTP server starts; restart the daemon to serve it");
      return;
    }
    const holder = this.mountAt(prefix);
    if (holder) {
      this.refuse(sup.key, prefix, `is held by plugin ${holder.key}`);
      return;
    }
    this.mounts.set(sup.key, this.createMount(sup, prefix));
    this.options.logger.info({ plugin: sup.key, route: prefix }, "plugin route mounted");
  }

  private unmount(sup: PluginSupervisor): void {
    this.refused.delete(sup.key);
    const mount = this.mounts.get(sup.key);
    if (!mount) return;
    this.mounts.delete(sup.key);
    mount.abortInFlight();
    mount.close();
    this.options.logger.info({ plugin: sup.key, route: mount.prefix }, "plugin route unmounted");
  }

  /** Stop following plugins (health probes, keep-alive pools). Routes stay registered until the HTTP server closes. */
  close(): void {
    for (const m of this.mounts.values()) {
      m.abortInFlight();
      m.close();
    }
  }

  private refuse(key: string, prefix: string, reason: string): void {
    const err = new NexoError(ErrorCodes.PROXY_MOUNT_CONFLICT, `plugin ${key}: mount_prefix ${prefix} ${reason}; the plugin runs without a route`, {
      pluginId: key,
      field: "plugin.http.mount_prefix",
    });
    this.options.logger.error({ code: err.code, plugin: key, prefix }, err.message);
    this.refused.set(key, { prefix, reason });
  }

  private conflict(prefix: string, added: readonly Mount[]): string | undefined {
    const problem = checkMountPrefix(prefix);
    if (problem) return `is refused: ${problem.message}`;
    const nested = (a: string, b: string): boolean => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
    const other = added.find((m) => nested(prefix, m.prefix));
    if (other) return `overlaps plugin ${other.key}'s route ${other.prefix}`;
    for (const url of [prefix, `${prefix}/*`]) {
      if (this.options.http.hasRoute({ method: "GET", url }) || this.options.http.hasRoute({ method: "POST", url })) return `is already a route of the app (${url})`;
    }
    return undefined;
  }

  private warnSharedFixedPorts(): void {
    const byPort = new Map<number, string[]>();
    for (const sup of this.options.host.list()) {
      const port = sup.spec.manifest.httpServer?.port;
      if (port) byPort.set(port, [...(byPort.get(port) ?? []), sup.key]);
    }
    for (const [port, keys] of byPort) {
      if (keys.length > 1)
        this.options.logger.error(
          { code: ErrorCodes.PROXY_PORT_UNAVAILABLE, port, plugins: keys },
          `plugins ${keys.join(", ")} all declare http_server port ${port}: only one can bind it; use port = 0`,
        );
    }
  }
}

import type { FastifyReply, FastifyRequest } from "fastify";
import type { Readable } from "node:stream";
import { ErrorCodes, NexoError } from "../errors.js";
import { httpRequestTopic, type PluginSupervisor } from "../host/index.js";
import type { Logger } from "../log/index.js";
import { HOP_BY_HOP } from "./hop-headers.js";

/**
 * Largest request body sent to a broker-RPC plugin: base64 (4/3) plus the
 * request's headers must fit one 1 MiB frame on the plugin's stdin.
 */
export const BROKER_HTTP_MAX_BODY_BYTES = 720 * 1024;
const RETRY_AFTER_SECONDS = "1";
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Response headers the daemon sets itself from the decoded body. */
const COMPUTED = new Set(["content-length", "transfer-encoding"]);

/** Options of a BrokerHttpMount. */
export interface BrokerHttpMountOptions {
  supervisor: PluginSupervisor;
  /** The route, `mount_prefix` (plus `/<instance>` for an instance). */
  prefix: string;
  /** `[plugin.http] timeout_seconds`, in ms: past it the request is answered 504. */
  timeoutMs: number;
  /** Largest request body (413 above); never more than BROKER_HTTP_MAX_BODY_BYTES. */
  maxBodyBytes: number;
  logger: Logger;
}

/** The answer a plugin gives, once checked. */
interface PluginAnswer {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * Upstream's `[plugin.http]` without `[plugin.capabilities.http_server]`: each
 * request under the prefix is buffered (bounded), sent to the plugin as the
 * broker request `plugin.<id>.http.request {method, path, query, headers,
 * body_base64}` (path in full, prefix included; query without `?`; headers as
 * `[name, value]` pairs as the client sent them, hop-by-hop ones left out),
 * and answered with the plugin's `{status, headers, body_base64}`. 504 past
 * `timeout_seconds`, 502 when the plugin is down, dies or answers something
 * else, 503 (Retry-After) while it starts or has not subscribed yet.
 */
export class BrokerHttpMount {
  readonly prefix: string;
  readonly topic: string;
  private readonly log: Logger;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: BrokerHttpMountOptions) {
    this.prefix = options.prefix;
    this.topic = httpRequestTopic(options.supervisor.spec.manifest.id);
    this.log = options.logger.child({ plugin: options.supervisor.key, route: options.prefix });
    this.maxBodyBytes = Math.min(options.maxBodyBytes, BROKER_HTTP_MAX_BODY_BYTES);
  }

  /** The plugin key this mount routes to. */
  get key(): string {
    return this.options.supervisor.key;
  }

  /** True while the plugin process is ready (whether it has subscribed shows per request). */
  get isReady(): boolean {
    return this.options.supervisor.currentState === "ready";
  }

  /** One line for `nexo plugin status` and `/health`: `/pair -> broker plugin.wa.http.request (ready)`. */
  describe(): string {
    const state = this.options.supervisor.currentState;
    return `${this.prefix} -> broker ${this.topic} (${state === "ready" ? "ready" : state === "starting" ? "starting" : "plugin down"})`;
  }

  /** Nothing streams through this mount: there is nothing to cut. */
  abortInFlight(): number {
    return 0;
  }

  /** Nothing to release. */
  close(): void {}

  /** Fastify handler of both routes of this mount. */
  handle(request: FastifyRequest, reply: FastifyReply): void {
    void this.serve(request, reply).catch((err: unknown) => {
      if (!reply.sent) reply.send(err);
    });
  }

  private async serve(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const raw = request.raw;
    const sup = this.options.supervisor;
    const key = sup.key;
    const state = sup.currentState;
    if (state !== "ready") {
      const retry = state === "starting" || state === "restarting";
      if (retry) reply.header("retry-after", RETRY_AFTER_SECONDS);
      const err =
        state === "starting"
          ? new NexoError(ErrorCodes.PROXY_NOT_READY, `plugin ${key} is starting; retry shortly`, { pluginId: key })
          : new NexoError(ErrorCodes.PROXY_PLUGIN_DOWN, `plugin ${key} is down (${state}); see \`nexo plugin status ${key}\``, { pluginId: key });
      return void reply.send(err);
    }
    const body = await this.readBody(request, reply);
    if (body === undefined) return;
    const url = raw.url ?? "/";
    const q = url.indexOf("?");
    const headers: Array<[string, string]> = [];
    const named = connectionNamed(raw.headers.connection);
    for (let i = 0; i < raw.rawHeaders.length; i += 2) {
      const name = raw.rawHeaders[i];
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
      headers.push([name, raw.rawHeaders[i + 1]]);
    }
    const payload = {
      method: raw.method ?? "GET",
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? "" : url.slice(q + 1),
      headers,
      body_base64: body.toString("base64"),
    };
    let answer: unknown;
    try {
      answer = await sup.requestOverBroker(this.topic, payload, this.options.timeoutMs);
    } catch (err) {
      return void reply.send(this.translate(err, reply));
    }
    const checked = checkAnswer(answer);
    if (typeof checked === "string") {
      this.log.warn({ problem: checked }, "plugin answered the HTTP request with a bad reply: 502");
      return void reply.send(
        new NexoError(
          ErrorCodes.PROXY_UPSTREAM_FAILED,
          `plugin ${key} answered ${this.topic} with a bad reply: ${checked} (expected {status, headers: [[name, value]], body_base64})`,
          {
            pluginId: key,
          },
        ),
      );
    }
    reply.code(checked.status);
    const grouped = new Map<string, string[]>();
    for (const [name, value] of checked.headers) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || COMPUTED.has(lower)) continue;
      grouped.set(lower, [...(grouped.get(lower) ?? []), value]);
    }
    for (const [name, values] of grouped) reply.header(name, values.length === 1 ? values[0] : values);
    reply.send(checked.body);
  }

  /** The whole request body, or undefined once a 413 has been sent. */
  private async readBody(request: FastifyRequest, reply: FastifyReply): Promise<Buffer | undefined> {
    const stream = request.body as Readable | undefined;
    if (!stream || typeof stream.on !== "function") return Buffer.alloc(0);
    const max = this.maxBodyBytes;
    const tooLarge = (n: string): undefined => {
      // The rest of the body is never read: close the connection after answering.
      reply.header("connection", "close");
      reply.send(new NexoError(ErrorCodes.HTTP_PAYLOAD_TOO_LARGE, `request body${n ? ` ${n}` : ""} is larger than the limit of ${max} bytes`));
      return undefined;
    };
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > max) return tooLarge(`of ${declared} bytes`);
    // Listeners, not for-await: leaving a for-await early would destroy the request and its socket before the 413 is sent.
    const result = await new Promise<Buffer | "too-large" | undefined>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (v: Buffer | "too-large" | undefined): void => {
        stream.off("data", onData);
        stream.off("end", onEnd);
        stream.off("error", onError);
        resolve(v);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > max) {
          stream.pause();
          return done("too-large");
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => done(Buffer.concat(chunks, size));
      const onError = (): void => done(undefined);
      stream.on("data", onData);
      stream.on("end", onEnd);
      stream.on("error", onError);
    });
    if (result === "too-large") return tooLarge("");
    return result;
  }

  private translate(err: unknown, reply: FastifyReply): unknown {
    const key = this.key;
    if (!(err instanceof NexoError)) return err;
    switch (err.code) {
      case ErrorCodes.HOST_REQUEST_TIMEOUT:
        this.log.warn({ timeoutMs: this.options.timeoutMs }, "plugin did not answer the HTTP request in time: 504");
        return new NexoError(ErrorCodes.PROXY_TIMEOUT, `plugin ${key} did not answer within ${this.options.timeoutMs / 1000} s ([plugin.http] timeout_seconds)`, { pluginId: key });
      case ErrorCodes.PROXY_NOT_READY:
      case ErrorCodes.HOST_QUEUE_FULL:
        reply.header("retry-after", RETRY_AFTER_SECONDS);
        return new NexoError(ErrorCodes.PROXY_NOT_READY, err.message, { pluginId: key });
      case ErrorCodes.HOST_PLUGIN_RESTARTED:
      case ErrorCodes.HOST_PLUGIN_EXITED:
      case ErrorCodes.HOST_PLUGIN_NOT_RUNNING:
        this.log.warn({ err: err.message }, "plugin went down during an HTTP request: 502");
        return new NexoError(ErrorCodes.PROXY_PLUGIN_DOWN, `plugin ${key} went down before answering (${err.message}); see \`nexo plugin status ${key}\``, { pluginId: key });
      default:
        return new NexoError(ErrorCodes.PROXY_UPSTREAM_FAILED, `plugin ${key}: ${err.message}`, { pluginId: key, cause: err });
    }
  }
}

/** The plugin's answer checked field by field, or what is wrong with it. */
function checkAnswer(answer: unknown): PluginAnswer | string {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) return `not an object`;
  const a = answer as Record<string, unknown>;
  if (typeof a.status !== "number" || !Number.isInteger(a.status) || a.status < 100 || a.status > 599) return `status ${JSON.stringify(a.status)} is not an HTTP status (100-599)`;
  const headers: Array<[string, string]> = [];
  if (a.headers !== undefined && a.headers !== null) {
    if (!Array.isArray(a.headers)) return "headers is not an array of [name, value] pairs";
    for (const h of a.headers) {
      if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== "string" || typeof h[1] !== "string")
        return `header ${JSON.stringify(h)?.slice(0, 80)} is not a [name, value] pair of strings`;
      if (!TOKEN.test(h[0]) || BAD_VALUE.test(h[1])) return `header ${JSON.stringify(h[0]).slice(0, 80)} has a bad name or value`;
      headers.push([h[0], h[1]]);
    }
  }
  let body = Buffer.alloc(0);
  if (a.body_base64 !== undefined && a.body_base64 !== null && a.body_base64 !== "") {
    if (typeof a.body_base64 !== "string" || !BASE64.test(a.body_base64)) return "body_base64 is not standard base64";
    body = Buffer.from(a.body_base64, "base64");
  }
  return { status: a.status, headers, body };
}

function connectionNamed(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  if (typeof value === "string") for (const t of value.split(",")) if (t.trim()) out.add(t.trim().toLowerCase());
  return out;
}

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { uuidv7 } from "nexo-plugin-sdk/contract";
import type { Dispatcher } from "undici";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { stripHopByHop } from "./hop-headers.js";

/** Header carrying the request id end to end (kept when the client sends a sane one, otherwise set by the proxy). */
export const REQUEST_ID_HEADER = "x-request-id";
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
/** Request headers never forwarded as the client sent them: the proxy sets its own or they make no sense past one hop. */
const DROPPED_REQUEST_HEADERS = ["host", "expect", "x-forwarded-prefix", REQUEST_ID_HEADER];

/** Where and how to forward one request. */
export interface ForwardOptions {
  /** Plugin key, for messages and logs. */
  pluginKey: string;
  /** The mount prefix, stripped from the path (`/webhook/x/a?b` -> `/a?b`) and sent as `X-Forwarded-Prefix`. */
  prefix: string;
  host: string;
  port: number;
  /** The undici pool (or any dispatcher) holding keep-alive connections to the plugin's port. */
  dispatcher: Dispatcher;
  /** Deadline for the plugin's response headers once the request is sent, and the longest silence while streaming its body. */
  timeoutMs: number;
  /** Largest request body forwarded; larger -> 413 (before contacting the plugin when Content-Length says so). */
  maxBodyBytes: number;
  logger: Logger;
}

/** The request id to forward: the client's `X-Request-Id` when it is 1-128 safe characters, else a new UUID v7. */
export function pickRequestId(value: string | string[] | undefined): string {
  return typeof value === "string" && REQUEST_ID_PATTERN.test(value) ? value : uuidv7();
}

/** The path below the mount prefix, from the raw URL (so percent-encoding reaches the plugin untouched), query kept. */
export function upstreamPath(rawUrl: string, prefix: string): string {
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? "" : rawUrl.slice(q);
  const rest = path.split("/").slice(prefix.split("/").length).join("/");
  return `/${rest}${query}`;
}

function forwardedFor(existing: string | string[] | undefined, client: string | undefined): string {
  const prior = Array.isArray(existing) ? existing.join(", ") : existing;
  const self = client ?? "unknown";
  return prior ? `${prior}, ${self}` : self;
}

/** `host:port` as a Host header and URL authority (IPv6 in brackets). */
export function hostHeader(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Raised inside the body stream when a chunked body passes the limit. */
class BodyTooLargeError extends Error {
  readonly code = "NEXO_BODY_TOO_LARGE";
}

/** Counts bytes through and fails past `max` (bodies without a Content-Length). */
class BodyLimit extends Transform {
  private received = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.max) return done(new BodyTooLargeError(`request body is larger than the limit of ${this.max} bytes`));
    done(null, chunk);
  }
}

/**
 * Forward one request to a plugin's HTTP server over undici and stream the
 * answer back, both bodies passed on chunk by chunk (never buffered whole),
 * with backpressure both ways. Always answers: the plugin's response, or
 * 413 / 502 / 504 as a NexoError through the app's error handler, unless the
 * client itself went away. Call from a fastify handler that does not send
 * anything else.
 */
export function forwardRequest(request: FastifyRequest, reply: FastifyReply, options: ForwardOptions): void {
  const raw = request.raw;
  const { timeoutMs, maxBodyBytes } = options;
  const incoming = isReadable(request.body) ? request.body : undefined;
  const requestId = pickRequestId(raw.headers[REQUEST_ID_HEADER]);
  reply.header(REQUEST_ID_HEADER, requestId);

  const lengthHeader = raw.headers["content-length"];
  const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (incoming && declared !== undefined && declared > maxBodyBytes) {
    // The rest of the body is never read: close the connection after answering.
    reply.header("connection", "close");
    reply.send(new NexoError(ErrorCodes.HTTP_PAYLOAD_TOO_LARGE, `request body of ${declared} bytes is larger than the limit of ${maxBodyBytes} bytes`));
    return;
  }

  const headers: OutgoingHttpHeaders = stripHopByHop(raw.headers, DROPPED_REQUEST_HEADERS);
  if (!incoming) delete headers["content-length"];
  headers.host = hostHeader(options.host, options.port);
  headers["x-forwarded-for"] = forwardedFor(raw.headers["x-forwarded-for"], raw.socket?.remoteAddress);
  headers["x-forwarded-proto"] = request.protocol;
  if (raw.headers.host) headers["x-forwarded-host"] = raw.headers.host;
  headers["x-forwarded-prefix"] = options.prefix;
  headers[REQUEST_ID_HEADER] = requestId;

  // A declared length is enforced by Node's parser, so that body goes straight through;
  // a chunked one is counted on the way. On failure undici destroys the body stream, but it
  // detaches an IncomingMessage from its socket first, so the client still gets its 502/504.
  let body: Readable | null = null;
  if (incoming && declared !== undefined) body = incoming;
  else if (incoming) {
    const limited = new BodyLimit(maxBodyBytes);
    incoming.on("error", (err) => limited.destroy(err));
    body = incoming.pipe(limited);
  }

  options.dispatcher.dispatch(
    {
      path: upstreamPath(raw.url ?? "/", options.prefix),
      method: (raw.method ?? "GET") as Dispatcher.HttpMethod,
      headers: headers as IncomingHttpHeaders,
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    },
    new ForwardHandler(request, reply, options, requestId, incoming !== undefined),
  );
}

/**
 * One exchange with the plugin. Until the plugin's headers arrive, a failure
 * is answered through fastify (413 / 502 / 504); from then on the reply is
 * hijacked and the plugin's answer written to the socket as it comes (the
 * headers fastify already holds, such as X-Request-Id or rate-limit headers,
 * go first). A failure mid-body can only cut the connection.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private started = false;
  private clientGone = false;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly options: ForwardOptions,
    private readonly requestId: string,
    private readonly hasBody: boolean,
  ) {
    reply.raw.once("close", () => {
      if (reply.raw.writableFinished) return;
      this.clientGone = true;
      this.controller?.abort(new Error("client closed the connection"));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error("client closed the connection"));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx informational: the final answer follows
    const res = this.reply.raw;
    if (res.destroyed) return controller.abort(new Error("client closed the connection"));
    this.started = true;
    this.reply.hijack();
    const out = this.reply.getHeaders() as OutgoingHttpHeaders;
    const plugin = stripHopByHop(headers);
    for (const name in plugin) out[name] = plugin[name];
    res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.reply.raw;
    if (!res.write(chunk)) {
      controller.pause();
      res.once("drain", () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.reply.raw.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error & { code?: string }): void {
    const { reply, options } = this;
    const pluginKey = options.pluginKey;
    if (this.started) {
      // Mid-body (the plugin died, or went silent for timeoutMs): all that is left is to cut the connection.
      reply.raw.destroy(err);
      return;
    }
    if (this.clientGone || reply.sent || reply.raw.headersSent || reply.raw.destroyed) return; // nobody to answer
    const method = this.request.raw.method;
    if (err instanceof BodyTooLargeError || err.cause instanceof BodyTooLargeError) {
      return this.fail(new NexoError(ErrorCodes.HTTP_PAYLOAD_TOO_LARGE, `request body is larger than the limit of ${options.maxBodyBytes} bytes`));
    }
    if (err.code === "UND_ERR_HEADERS_TIMEOUT") {
      options.logger.warn({ plugin: pluginKey, timeoutMs: options.timeoutMs, method, requestId: this.requestId }, "plugin did not answer in time: 504");
      return this.fail(
        new NexoError(ErrorCodes.PROXY_TIMEOUT, `plugin ${pluginKey} did not answer within ${options.timeoutMs / 1000} s ([plugin.http] timeout_seconds)`, { pluginId: pluginKey }),
      );
    }
    const why = causeCode(err);
    options.logger.warn({ plugin: pluginKey, err: why, requestId: this.requestId }, "plugin unreachable: 502");
    this.fail(
      new NexoError(
        ErrorCodes.PROXY_UPSTREAM_FAILED,
        `plugin ${pluginKey} at ${hostHeader(options.host, options.port)} could not be reached (${why}); see \`nexo plugin status ${pluginKey}\``,
        {
          pluginId: pluginKey,
        },
      ),
    );
  }

  private fail(err: NexoError): void {
    // The rest of the request body will not be read: close the connection after answering.
    if (this.hasBody && !this.request.raw.complete) this.reply.header("connection", "close");
    this.reply.send(err);
  }
}

/** The most specific code of a connection failure (undici wraps the socket's error). */
function causeCode(err: Error & { code?: string }): string {
  const cause = err.cause as (Error & { code?: string }) | undefined;
  return cause?.code ?? err.code ?? err.message;
}

function isReadable(v: unknown): v is Readable {
  return typeof v === "object" && v !== null && typeof (v as Readable).pipe === "function" && typeof (v as Readable).on === "function";
}

import { request as httpRequest, type Agent, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { uuidv7 } from "nexo-plugin-sdk";
import { ErrorCodes, NexoError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { stripHopByHop } from "./hop-headers.js";

/** Header carrying the request id end to end (kept when the client sends a sane one, otherwise set by the proxy). */
export const REQUEST_ID_HEADER = "x-request-id";
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Where and how to forward one request. */
export interface ForwardOptions {
  /** Plugin key, for messages and logs. */
  pluginKey: string;
  /** The mount prefix, stripped from the path (`/webhook/x/a?b` -> `/a?b`) and sent as `X-Forwarded-Prefix`. */
  prefix: string;
  host: string;
  port: number;
  agent: Agent;
  /** Deadline for the plugin's response headers, and the longest silence while streaming. */
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

function hostHeader(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Forward one request to a plugin's HTTP server and stream the answer back,
 * both bodies piped chunk by chunk (never buffered whole). Answers the
 * request itself: the plugin's response, or 413 / 502 / 504 as a NexoError
 * through the app's error handler. Call from a fastify handler that does
 * not send anything else.
 */
export function forwardRequest(request: FastifyRequest, reply: FastifyReply, options: ForwardOptions): void {
  const raw = request.raw;
  const { pluginKey, timeoutMs, maxBodyBytes } = options;
  const body = isReadable(request.body) ? request.body : undefined;
  const requestId = pickRequestId(raw.headers[REQUEST_ID_HEADER]);
  reply.header(REQUEST_ID_HEADER, requestId);

  const declared = Number(raw.headers["content-length"] ?? 0);
  if (body && declared > maxBodyBytes) {
    // The rest of the body is never read: close the connection after answering.
    reply.header("connection", "close");
    reply.send(new NexoError(ErrorCodes.HTTP_PAYLOAD_TOO_LARGE, `request body of ${declared} bytes is larger than the limit of ${maxBodyBytes} bytes`));
    return;
  }

  const headers: OutgoingHttpHeaders = stripHopByHop(raw.headers, ["host", "expect", "x-forwarded-prefix", REQUEST_ID_HEADER]);
  if (!body) delete headers["content-length"];
  headers.host = hostHeader(options.host, options.port);
  headers["x-forwarded-for"] = forwardedFor(raw.headers["x-forwarded-for"], raw.socket.remoteAddress);
  headers["x-forwarded-proto"] = request.protocol;
  if (raw.headers.host) headers["x-forwarded-host"] = raw.headers.host;
  headers["x-forwarded-prefix"] = options.prefix;
  headers[REQUEST_ID_HEADER] = requestId;

  // Exactly one of these ends the exchange; later events only clean up.
  let outcome: "pending" | "responded" | "too-large" | "timed-out" | "unreachable" | "client-gone" = "pending";
  const upstream = httpRequest({
    host: options.host,
    port: options.port,
    method: raw.method,
    path: upstreamPath(raw.url ?? "/", options.prefix),
    headers,
    agent: options.agent,
    setHost: false,
  });

  const fail = (err: NexoError): void => {
    if (reply.sent || raw.destroyed) return;
    // The rest of the request body will not be read: close the connection after answering.
    if (body && !body.readableEnded) reply.header("connection", "close");
    reply.send(err);
  };

  const headerTimer = setTimeout(() => {
    outcome = "timed-out";
    upstream.destroy(new Error("response timeout"));
  }, timeoutMs);

  upstream.on("response", (res: IncomingMessage) => {
    clearTimeout(headerTimer);
    if (outcome !== "pending") {
      res.resume();
      return;
    }
    outcome = "responded";
    // While streaming, the same budget bounds each silence; past it the connection is cut.
    upstream.setTimeout(timeoutMs, () => upstream.destroy(new Error(`plugin ${pluginKey} went silent for ${timeoutMs} ms mid-response`)));
    reply.code(res.statusCode ?? 502);
    const resHeaders = stripHopByHop(res.headers);
    for (const [k, v] of Object.entries(resHeaders)) if (v !== undefined) reply.header(k, v);
    // Fastify pipes the stream and destroys the client connection if it errors mid-body.
    reply.send(res);
  });

  upstream.on("error", (err: NodeJS.ErrnoException) => {
    clearTimeout(headerTimer);
    switch (outcome) {
      case "responded":
      case "client-gone":
      case "unreachable":
        return;
      case "too-large":
        return fail(new NexoError(ErrorCodes.HTTP_PAYLOAD_TOO_LARGE, `request body is larger than the limit of ${maxBodyBytes} bytes`));
      case "timed-out":
        options.logger.warn({ plugin: pluginKey, timeoutMs, method: raw.method, requestId }, "plugin did not answer in time: 504");
        return fail(
          new NexoError(ErrorCodes.PROXY_TIMEOUT, `plugin ${pluginKey} did not answer within ${timeoutMs / 1000} s ([plugin.http] timeout_seconds)`, { pluginId: pluginKey, httpStatus: 504 }),
        );
      default:
        outcome = "unreachable";
        options.logger.warn({ plugin: pluginKey, err: err.code ?? err.message, requestId }, "plugin unreachable: 502");
        return fail(
          new NexoError(ErrorCodes.PROXY_UPSTREAM_FAILED, `plugin ${pluginKey} at ${hostHeader(options.host, options.port)} could not be reached (${err.code ?? err.message}); see \`nexo plugin status ${pluginKey}\``, {
            pluginId: pluginKey,
            httpStatus: 502,
          }),
        );
    }
  });

  // The client went away (or the answer is complete): nothing more to fetch.
  reply.raw.once("close", () => {
    clearTimeout(headerTimer);
    if (!reply.raw.writableFinished) {
      if (outcome === "pending") outcome = "client-gone";
      upstream.destroy();
    }
  });

  if (!body) {
    upstream.end();
    return;
  }
  let received = 0;
  const forwarding = (): boolean => outcome === "pending" || outcome === "responded";
  body.on("data", (chunk: Buffer) => {
    if (!forwarding()) return;
    received += chunk.length;
    if (received > maxBodyBytes) {
      if (outcome === "pending") {
        outcome = "too-large";
        upstream.destroy(new Error("request body too large"));
      } else {
        upstream.destroy();
      }
      body.pause();
      return;
    }
    if (!upstream.write(chunk)) body.pause();
  });
  upstream.on("drain", () => {
    if (forwarding()) body.resume();
  });
  body.on("end", () => {
    if (forwarding()) upstream.end();
  });
  body.on("error", () => {
    if (outcome === "pending") outcome = "client-gone";
    upstream.destroy();
  });
}

function isReadable(v: unknown): v is Readable {
  return typeof v === "object" && v !== null && typeof (v as Readable).pipe === "function" && typeof (v as Readable).on === "function";
}

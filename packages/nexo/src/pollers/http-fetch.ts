import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Transform } from "node:stream";
import { ErrorCodes } from "../errors.js";
import { PollError } from "./poll-error.js";
import { guardedLookup, isPrivateAddress, PrivateAddressError } from "./private-network.js";

/** One HTTP request of a poll. */
export interface FeedRequest {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** Sent as JSON (POST). */
  body?: unknown;
  /** Sent as If-None-Match. */
  etag?: string | null;
  /** Sent as If-Modified-Since. */
  lastModified?: string | null;
}

/** The answer: status, headers and the (decompressed) body. */
export interface FeedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The URL answered, after redirects. */
  url: string;
}

/** Limits of one job's fetches. */
export interface FetchLimits {
  /** Whole-request deadline including redirects and body, in ms. */
  timeoutMs: number;
  /** Largest body accepted, after decompression, in bytes. */
  maxBodyBytes: number;
  /** Allow loopback/private/link-local targets. */
  allowPrivateNetworks: boolean;
  /** Redirects followed before giving up. */
  maxRedirects: number;
  /** Aborts the request (service stopping). */
  signal?: AbortSignal;
}

/**
 * Keep-alive agents a service shares between its jobs; `destroy()` closes their
 * sockets. Jobs allowed to reach private networks get their own pair, so a
 * socket they opened is never reused by a job that is not.
 */
export class FetchAgents {
  private readonly guarded = { http: new HttpAgent(AGENT_OPTIONS), https: new HttpsAgent(AGENT_OPTIONS) };
  private readonly open = { http: new HttpAgent(AGENT_OPTIONS), https: new HttpsAgent(AGENT_OPTIONS) };

  /** The agent for a URL scheme and a job's private-network permission. */
  pick(https: boolean, allowPrivateNetworks: boolean): HttpAgent {
    const pair = allowPrivateNetworks ? this.open : this.guarded;
    return https ? pair.https : pair.http;
  }

  destroy(): void {
    for (const a of [this.guarded.http, this.guarded.https, this.open.http, this.open.https]) a.destroy();
  }
}

const AGENT_OPTIONS = { keepAlive: true, maxSockets: 256, maxFreeSockets: 256 };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET (or POST) a feed with the job's limits: private targets refused at
 * connect time unless allowed, conditional headers, redirects re-checked,
 * gzip/deflate/br decompressed with the size bound applied to what comes out.
 * Any status is returned; network failures, the deadline, an oversized body and
 * a refused target throw a classified PollError.
 */
export async function fetchFeed(req: FeedRequest, limits: FetchLimits, agents: FetchAgents): Promise<FeedResponse> {
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([limits.signal, deadline]) : deadline;
  let url = parseUrl(req.url);
  let method = req.method ?? "GET";
  let body = req.body;
  const headers: Record<string, string> = { "user-agent": "nexo-poller", "accept-encoding": "gzip, deflate, br", ...lower(req.headers ?? {}) };
  if (req.etag) headers["if-none-match"] = req.etag;
  if (req.lastModified) headers["if-modified-since"] = req.lastModified;
  for (let hop = 0; ; hop++) {
    const res = await once(url, method, headers, body, limits, agents, signal, deadline);
    if (!REDIRECTS.has(res.status) || !res.headers.location) return res;
    if (hop >= limits.maxRedirects)
      throw new PollError(ErrorCodes.POLLER_HTTP_STATUS, "redirect", `more than ${limits.maxRedirects} redirects from ${url.host}`, { upstreamStatus: res.status });
    const next = parseUrl(new URL(res.headers.location, url).toString());
    // Credentials are for the origin they were configured for, never for where it redirects.
    if (next.origin !== url.origin) {
      delete headers.authorization;
      delete headers.cookie;
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
    }
    url = next;
  }
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PollError(ErrorCodes.POLLER_INVALID_CONFIG, "config", `not a valid URL: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new PollError(ErrorCodes.POLLER_INVALID_CONFIG, "config", `only http and https URLs can be polled, got ${url.protocol}`);
  return url;
}

function lower(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

function once(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: unknown,
  limits: FetchLimits,
  agents: FetchAgents,
  signal: AbortSignal,
  deadline: AbortSignal,
): Promise<FeedResponse> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // A literal IP never goes through `lookup`, so it is checked here.
  if (!limits.allowPrivateNetworks && isIP(host) && isPrivateAddress(host)) {
    return Promise.reject(privateError(new PrivateAddressError(host, host)));
  }
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const h = { ...headers, ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}) };
  const https = url.protocol === "https:";
  return new Promise<FeedResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      reject(classifyFailure(err, url, signal, deadline, limits));
    };
    const req = (https ? httpsRequest : httpRequest)(
      url,
      {
        method,
        headers: h,
        agent: agents.pick(https, limits.allowPrivateNetworks),
        signal,
        ...(limits.allowPrivateNetworks ? {} : { lookup: guardedLookup as never }),
      },
      (res) => {
        readBody(res, limits.maxBodyBytes).then(
          (buf) => {
            if (settled) return;
            settled = true;
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, url: url.toString() });
          },
          (err) => {
            req.destroy();
            fail(err);
          },
        );
      },
    );
    req.on("error", fail);
    req.end(payload);
  });
}

function readBody(res: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers["content-length"]);
    const encoding = String(res.headers["content-encoding"] ?? "identity").toLowerCase();
    const tooLarge = (): PollError =>
      new PollError(ErrorCodes.POLLER_BODY_TOO_LARGE, "body_too_large", `response body larger than ${max} bytes; raise max_body_bytes if this feed is meant to be that big`);
    if (encoding === "identity" && Number.isFinite(declared) && declared > max) {
      res.resume();
      return reject(tooLarge());
    }
    let stream: IncomingMessage | Transform = res;
    if (encoding === "gzip" || encoding === "x-gzip") stream = res.pipe(createGunzip());
    else if (encoding === "deflate") stream = res.pipe(createInflate());
    else if (encoding === "br") stream = res.pipe(createBrotliDecompress());
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // The bound applies to decompressed bytes: a small gzip can expand enormously.
      if (size > max) {
        stream.destroy();
        res.destroy();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    stream.on("end", () => resolve(Buffer.concat(chunks, size)));
    stream.on("error", (err) => reject(err));
    if (stream !== res) res.on("error", (err) => reject(err));
  });
}

function privateError(err: PrivateAddressError): PollError {
  return new PollError(ErrorCodes.POLLER_PRIVATE_NETWORK, "private_network", err.message, { cause: err });
}

function classifyFailure(err: unknown, url: URL, signal: AbortSignal, deadline: AbortSignal, limits: FetchLimits): PollError {
  if (err instanceof PollError) return err;
  if (err instanceof PrivateAddressError) return privateError(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof PrivateAddressError) return privateError(cause);
  if (deadline.aborted) return new PollError(ErrorCodes.POLLER_TIMEOUT, "timeout", `${url.host} did not answer within ${limits.timeoutMs} ms`, { cause: err });
  if (signal.aborted) return new PollError(ErrorCodes.POLLER_FETCH_FAILED, "network", `request to ${url.host} aborted (poller stopping)`, { cause: err });
  const code = (err as NodeJS.ErrnoException).code;
  return new PollError(ErrorCodes.POLLER_FETCH_FAILED, "network", `request to ${url.host} failed: ${code ?? (err as Error).message}`, { cause: err });
}

/**
 * Classify a status: 2xx and 304 pass; 408, 429 and 5xx are transient (with
 * Retry-After when given); other statuses are permanent.
 */
export function checkStatus(res: FeedResponse, now: number): void {
  const s = res.status;
  if ((s >= 200 && s < 300) || s === 304) return;
  const host = new URL(res.url).host;
  const retryAfterMs = parseRetryAfter(res.headers["retry-after"], now);
  const opts = { upstreamStatus: s, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (s === 429) throw new PollError(ErrorCodes.POLLER_HTTP_STATUS, "http_429", `${host} answered 429 Too Many Requests`, opts);
  if (s === 408) throw new PollError(ErrorCodes.POLLER_HTTP_STATUS, "timeout", `${host} answered 408 Request Timeout`, opts);
  if (s >= 500 && s < 600) throw new PollError(ErrorCodes.POLLER_HTTP_STATUS, "http_5xx", `${host} answered ${s}`, opts);
  if (s >= 400 && s < 500)
    throw new PollError(ErrorCodes.POLLER_HTTP_STATUS, "http_4xx", `${host} answered ${s}; check the job's url and headers, then \`nexo pollers resume\``, opts);
  throw new PollError(ErrorCodes.POLLER_HTTP_STATUS, "http_status", `${host} answered an unexpected ${s}`, opts);
}

/** `Retry-After` as ms from now: delta-seconds or an HTTP date; undefined when absent or unreadable. Capped at one day. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const day = 86_400_000;
  if (/^\s*\d+\s*$/.test(v)) return Math.min(Number(v) * 1000, day);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), day);
}

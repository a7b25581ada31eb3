import type { FastifyReply } from "fastify";

/** Options of `openSse`. */
export interface SseOptions {
  /** Bytes left unsent to a slow client before further events are dropped (and counted). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Comment line sent this often so proxies keep the connection, in ms. Default 15000. */
  keepAliveMs?: number;
}

/** One Server-Sent Events response. */
export interface SseStream {
  /**
   * Send an event; false (and counted in `dropped`) when the client is gone or
   * too slow. `force` sends even past the limit (the final event).
   */
  send(event: string, data: unknown, id?: number, force?: boolean): boolean;
  /** Events not sent because the client was too slow. */
  readonly dropped: number;
  readonly closed: boolean;
  /** Run `fn` when the client goes away (or `end` is called). */
  onClose(fn: () => void): void;
  /** End the response. Idempotent. */
  end(): void;
}

/**
 * Take over `reply` and answer `text/event-stream`. Headers set on the reply
 * so far (CORS, security headers) are kept. Writes never wait: past
 * `maxBufferedBytes` unsent, events are dropped and counted, so a slow reader
 * costs the server bounded memory and never slows the workflow.
 */
export function openSse(reply: FastifyReply, options: SseOptions = {}): SseStream {
  const max = options.maxBufferedBytes ?? 1_048_576;
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  raw.write(": stream open\n\n");
  let dropped = 0;
  let closed = false;
  const closers: Array<() => void> = [];
  const timer = setInterval(() => {
    if (!closed) raw.write(": keep-alive\n\n");
  }, options.keepAliveMs ?? 15_000);
  timer.unref();
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    for (const fn of closers.splice(0)) fn();
  };
  raw.on("close", close);
  return {
    send(event, data, id, force = false) {
      if (closed || raw.destroyed) return false;
      if (!force && raw.writableLength > max) {
        dropped += 1;
        return false;
      }
      // JSON never holds a raw newline, so one data line per event.
      raw.write(`${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data === undefined ? null : data)}\n\n`);
      return true;
    },
    get dropped() {
      return dropped;
    },
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
    end() {
      if (!raw.writableEnded) raw.end();
      close();
    },
  };
}

/** True when the request asks for an event stream (`Accept: text/event-stream`). */
export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes("text/event-stream");
}

import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { TestContext } from "node:test";
import { gzipSync } from "node:zlib";

/** One request the fake server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/**
 * Feeds served on 127.0.0.1 with real HTTP: JSON with ETag / Last-Modified and
 * 304s, RSS and Atom documents, fixed statuses, and held ("slow") responses
 * released by the test. Stopped after the test.
 */
export class FakeFeeds {
  readonly requests: SeenRequest[] = [];
  private readonly routes = new Map<string, Handler>();
  private readonly held: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(t: TestContext): Promise<FakeFeeds> {
    let feeds!: FakeFeeds;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        const path = (req.url ?? "/").split("?")[0];
        feeds.requests.push({ method: req.method ?? "GET", path, headers: req.headers, body });
        const route = feeds.routes.get(path);
        if (!route) {
          res.writeHead(404, { "content-type": "text/plain" }).end("no such feed");
          return;
        }
        route(req, res, body);
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    feeds = new FakeFeeds(server, (server.address() as { port: number }).port);
    t.after(() => feeds.close());
    return feeds;
  }

  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests seen for `path`. */
  hits(path: string): SeenRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Serve whatever `handler` writes. */
  route(path: string, handler: Handler): void {
    this.routes.set(path, handler);
  }

  /**
   * Serve `doc()` as JSON with a content ETag (304 on a matching If-None-Match)
   * and, with `lastModified`, a Last-Modified (304 on an equal If-Modified-Since).
   */
  json(path: string, doc: () => unknown, options: { etag?: boolean; lastModified?: () => string; gzip?: boolean } = {}): void {
    this.route(path, (req, res) => {
      const body = Buffer.from(JSON.stringify(doc()));
      this.conditional(req, res, body, "application/json", options);
    });
  }

  /** Serve `xml()` (an RSS or Atom document) with a content ETag and 304s. */
  xml(path: string, xml: () => string, contentType = "application/rss+xml"): void {
    this.route(path, (req, res) => this.conditional(req, res, Buffer.from(xml()), contentType, { etag: true }));
  }

  /** Always answer `status` with `headers` and `body`. */
  status(path: string, status: number, headers: Record<string, string> = {}, body = ""): void {
    this.route(path, (_req, res) => res.writeHead(status, headers).end(body));
  }

  /** Hold every request to `path` unanswered until `release()` (then answer with `then`, default 200 []). */
  hold(path: string, then: Handler = (_q, res) => res.writeHead(200, { "content-type": "application/json" }).end("[]")): void {
    this.route(path, (req, res, body) => {
      this.held.push(() => {
        if (!res.destroyed) then(req, res, body);
      });
    });
  }

  /** Held requests not answered yet. */
  get pending(): number {
    return this.held.length;
  }

  /** Answer every held request. */
  release(): void {
    for (const fn of this.held.splice(0)) fn();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private conditional(req: IncomingMessage, res: ServerResponse, body: Buffer, type: string, options: { etag?: boolean; lastModified?: () => string; gzip?: boolean }): void {
    const headers: Record<string, string> = { "content-type": type };
    const etag = `"${createHash("sha1").update(body).digest("hex").slice(0, 16)}"`;
    if (options.etag) headers.etag = etag;
    if (options.lastModified) headers["last-modified"] = options.lastModified();
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    if ((options.etag && inm === etag) || (options.lastModified && ims === headers["last-modified"])) {
      res.writeHead(304, headers).end();
      return;
    }
    if (options.gzip) {
      res.writeHead(200, { ...headers, "content-encoding": "gzip" }).end(gzipSync(body));
      return;
    }
    res.writeHead(200, headers).end(body);
  }
}

/** An RSS 2.0 document whose items are listed newest first (as feeds do). */
export function rssDoc(items: Array<{ guid?: string; title: string; link?: string }>): string {
  const entries = [...items]
    .reverse()
    .map(
      (i) =>
        `<item><title>${i.title}</title>${i.link ? `<link>${i.link}</link>` : ""}${i.guid ? `<guid isPermaLink="false">${i.guid}</guid>` : ""}<description><![CDATA[<p>${i.title}</p>]]></description></item>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Fake RSS</title><link>http://example.test/</link>${entries}</channel></rss>`;
}

/** An Atom 1.0 document whose entries are listed newest first. */
export function atomDoc(entries: Array<{ id: string; title: string; href?: string; updated?: string }>): string {
  const body = [...entries]
    .reverse()
    .map(
      (e) =>
        `<entry><id>${e.id}</id><title type="text">${e.title}</title>${e.href ? `<link rel="alternate" href="${e.href}"/>` : ""}<updated>${e.updated ?? "2026-01-01T00:00:00Z"}</updated><author><name>Ada</name></author></entry>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Fake Atom</title><link href="http://example.test/atom"/>${body}</feed>`;
}

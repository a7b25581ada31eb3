// A JSON feed on loopback, as a real HTTP server: GET /feed.json returns the item
// list with an ETag and honours If-None-Match (304). It can fail the next N
// requests with a 500, or hold requests open without answering (a hung upstream).
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FeedItem {
  id: string;
  title: string;
  [key: string]: unknown;
}

export class FakeFeed {
  readonly items: FeedItem[] = [];
  /** Requests received, whatever the answer. */
  requests = 0;
  /** Requests answered 304 Not Modified. */
  notModified = 0;
  /** Requests currently held open (see `hang`). */
  hanging = 0;
  /** Answer the next N requests with a 500. */
  failNext = 0;
  /** Hold every new request open without answering. */
  hang = false;
  private readonly server = createServer((req, res) => this.handle(req, res));

  static async start(): Promise<FakeFeed> {
    const feed = new FakeFeed();
    await new Promise<void>((resolve) => feed.server.listen(0, "127.0.0.1", resolve));
    return feed;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/feed.json`;
  }

  add(id: string): FeedItem {
    const item = { id, title: `item ${id}`, link: `https://news.invalid/${id}` };
    this.items.push(item);
    return item;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests += 1;
    if (req.method !== "GET" || req.url !== "/feed.json") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    if (this.hang) {
      this.hanging += 1;
      res.once("close", () => (this.hanging -= 1));
      return;
    }
    if (this.failNext > 0) {
      this.failNext -= 1;
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":"upstream exploded"}');
      return;
    }
    const body = JSON.stringify(this.items);
    const etag = `"${createHash("sha1").update(body).digest("hex").slice(0, 16)}"`;
    if (req.headers["if-none-match"] === etag) {
      this.notModified += 1;
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", etag }).end(body);
  }
}

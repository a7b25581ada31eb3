// A streaming transcription service on loopback speaking Server-Sent Events
// (text/event-stream): every fragment is an `event: fragment` with an increasing
// `id`; a client reconnecting with Last-Event-ID gets what it missed replayed.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Fragment {
  conversation_id: string;
  text?: string;
  done?: boolean;
}

export class FakeTranscripts {
  /** Every event ever pushed, in id order (ids are 1-based positions). */
  readonly log: string[] = [];
  /** Last-Event-ID of each connection (null = a fresh start). */
  readonly connects: Array<string | null> = [];
  private readonly open = new Set<ServerResponse>();
  private readonly server = createServer((req, res) => this.handle(req, res));

  static async start(): Promise<FakeTranscripts> {
    const f = new FakeTranscripts();
    await new Promise<void>((resolve) => f.server.listen(0, "127.0.0.1", resolve));
    return f;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/transcripts`;
  }

  /** Streams currently open. */
  get streams(): number {
    return this.open.size;
  }

  /** Append an event and send it to every open stream. */
  push(fragment: Fragment | string, event = "fragment"): void {
    const data = typeof fragment === "string" ? fragment : JSON.stringify(fragment);
    this.log.push(`event: ${event}\ndata: ${data}`);
    const id = this.log.length;
    for (const res of this.open) res.write(this.frame(id));
  }

  /** End every stream cleanly (the server redeploying): clients are expected to come back with Last-Event-ID. */
  endStreams(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }

  async close(): Promise<void> {
    this.endStreams();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private frame(id: number): string {
    return `id: ${id}\n${this.log[id - 1]}\n\n`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "GET" || req.url !== "/transcripts") {
      res.writeHead(404).end();
      return;
    }
    const last = req.headers["last-event-id"];
    const lastId = typeof last === "string" ? last : null;
    this.connects.push(lastId);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    res.write(": transcripts stream\nretry: 100\n\n");
    for (let id = (lastId ? Number(lastId) : 0) + 1; id <= this.log.length; id++) res.write(this.frame(id));
    this.open.add(res);
    res.once("close", () => this.open.delete(res));
  }
}

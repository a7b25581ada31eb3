// A WebSocket server on loopback (the real protocol, from the `ws` package):
// records what clients send and how they close, and can die abruptly like a
// crashed upstream (TCP cut, no close frame).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";

export class FakeWsServer {
  /** Text messages received from clients, in order. */
  readonly received: string[] = [];
  /** Close frames received from clients (code 1005 = none, 1006 = connection lost). */
  readonly closes: Array<{ code: number; reason: string }> = [];
  /** Connections accepted. */
  connections = 0;
  private readonly clients = new Set<WebSocket>();

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
  ) {
    wss.on("connection", (ws) => {
      this.connections += 1;
      this.clients.add(ws);
      ws.on("message", (data) => this.received.push(data.toString()));
      ws.on("close", (code, reason) => {
        this.clients.delete(ws);
        this.closes.push({ code, reason: reason.toString() });
      });
    });
  }

  /** Listen on 127.0.0.1 at `port` (0 = any free port); a just-freed port is retried briefly. */
  static async start(port = 0): Promise<FakeWsServer> {
    for (let tries = 0; ; tries++) {
      const http = createServer((_req, res) => res.writeHead(426).end());
      const wss = new WebSocketServer({ server: http, path: "/stream" });
      try {
        await new Promise<void>((resolve, reject) => {
          http.once("error", reject);
          http.listen(port, "127.0.0.1", () => resolve());
        });
        return new FakeWsServer(http, wss);
      } catch (err) {
        wss.close();
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || tries >= 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/stream`;
  }

  /** Open connections right now. */
  get open(): number {
    return this.clients.size;
  }

  /** Send to every open client. */
  broadcast(data: string | Buffer, binary = false): void {
    for (const ws of this.clients) ws.send(data, { binary });
  }

  /** Stop reading from every open connection (a stalled peer): pings go unanswered. */
  stall(): void {
    for (const ws of this.clients) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  /** Die like a crashed server: cut every connection without a close frame and stop listening. */
  async kill(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    await this.close();
  }

  async close(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

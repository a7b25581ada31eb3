import WebSocket, { type RawData } from "ws";
import { backoffDelay } from "./backoff.js";
import type { GatewayConfig } from "./config.js";

/** Connection states reported through `onStatus`. */
export type GatewayState = "connecting" | "connected" | "disconnected" | "reconnecting" | "closed";

/** A state change, as published on `plugin.inbound.ws.status`. */
export interface GatewayStatus {
  state: GatewayState;
  url: string;
  /** Reconnect attempt number (1-based) since the last successful connection; 0 when connected. */
  attempt: number;
  /** With `reconnecting`: the wait before this attempt. */
  delay_ms?: number;
  /** Why the connection ended (close code and reason, or the socket error). */
  reason?: string;
}

/** What the gateway calls back into. */
export interface GatewayHooks {
  /** One inbound message (a parsed JSON value, or `{text}` / `{data_base64}`). Its promise paces reading (backpressure). */
  onMessage(payload: unknown): Promise<void>;
  onStatus(status: GatewayStatus): void;
  log(message: string): void;
  /** Random source for jitter (tests). Default Math.random. */
  random?: () => number;
}

/** Publishes in flight beyond which reading from the socket pauses until they are written. */
const MAX_INFLIGHT_INBOUND = 256;

/**
 * Holds one WebSocket: connects, reconnects after any loss with exponential
 * backoff and jitter (the attempt counter resets once connected), keeps the
 * link honest with pings, buffers outbound messages (bounded) while
 * disconnected, and closes with a close frame (1000) on `close()`.
 */
export class WsGateway {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private alive = true;
  private closing: Promise<void> | undefined;
  private readonly pending: string[] = [];
  private droppedOutbound = 0;
  private inflight = 0;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly hooks: GatewayHooks,
  ) {}

  /** Start connecting (and keep reconnecting until `close()`). */
  start(): void {
    this.connect();
  }

  /**
   * Send a text message now when connected, else keep it (bounded: the oldest
   * is dropped and counted) and send it after the next connect, in order.
   */
  send(text: string): void {
    if (this.closing) return;
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN && this.pending.length === 0) {
      ws.send(text);
      return;
    }
    if (this.cfg.maxPendingOutbound === 0) {
      this.countDrop();
      return;
    }
    if (this.pending.length >= this.cfg.maxPendingOutbound) {
      this.pending.shift();
      this.countDrop();
    }
    this.pending.push(text);
  }

  /**
   * Stop for good: cancel any retry, send a close frame (1000) and wait for
   * the server's, cutting the connection after `closeTimeoutMs`. Idempotent.
   */
  close(reason = "plugin shutting down"): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.retryTimer);
      this.stopPing();
      const ws = this.ws;
      if (!ws || ws.readyState === WebSocket.CLOSED) return this.report("closed", { reason });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.hooks.log(`no close frame from the server within ${this.cfg.closeTimeoutMs} ms; cutting the connection`);
          ws.terminate();
        }, this.cfg.closeTimeoutMs);
        ws.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        // A socket still in its handshake cannot send a close frame; ws aborts it instead.
        ws.close(1000, reason);
      });
      this.report("closed", { reason });
    })();
    return this.closing;
  }

  private connect(): void {
    if (this.closing) return;
    // A retry was already reported as "reconnecting" (with its delay) when it was scheduled.
    if (this.attempt === 0) this.report("connecting", {});
    const ws = new WebSocket(this.cfg.url, { handshakeTimeout: this.cfg.connectTimeoutMs, maxPayload: this.cfg.maxMessageBytes });
    this.ws = ws;
    ws.on("open", () => {
      this.attempt = 0;
      this.alive = true;
      this.report("connected", {});
      this.hooks.log(`connected to ${this.cfg.url}`);
      this.flush(ws);
      this.startPing(ws);
    });
    ws.on("pong", () => (this.alive = true));
    ws.on("message", (data, isBinary) => this.receive(ws, data, isBinary));
    // 'error' is always followed by 'close'; reconnecting happens there.
    ws.on("error", (err) => this.hooks.log(`connection error: ${err.message}`));
    ws.on("close", (code, reasonBuf) => {
      this.stopPing();
      if (this.ws === ws) this.ws = undefined;
      if (this.closing) return;
      const reason = `close ${code}${reasonBuf.length ? ` ${reasonBuf.toString()}` : ""}`;
      this.report("disconnected", { reason });
      this.scheduleReconnect(reason);
    });
  }

  private scheduleReconnect(reason: string): void {
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, this.cfg.backoff, this.hooks.random);
    this.hooks.log(`disconnected (${reason}); reconnect attempt ${this.attempt} in ${delay} ms`);
    this.report("reconnecting", { delay_ms: delay, reason });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  private receive(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    let payload: unknown;
    if (isBinary) {
      payload = { data_base64: buf.toString("base64") };
    } else {
      const text = buf.toString("utf8");
      try {
        payload = JSON.parse(text);
      } catch {
        payload = { text };
      }
    }
    this.inflight += 1;
    // Too many publishes waiting on the plugin's stdout: stop reading the socket (TCP pushes back on the server).
    if (this.inflight >= MAX_INFLIGHT_INBOUND && !ws.isPaused) ws.pause();
    this.hooks
      .onMessage(payload)
      .catch((err: unknown) => this.hooks.log(`inbound message not published: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.inflight -= 1;
        if (ws.isPaused && this.inflight < MAX_INFLIGHT_INBOUND / 2) ws.resume();
      });
  }

  private flush(ws: WebSocket): void {
    while (this.pending.length > 0 && ws.readyState === WebSocket.OPEN) ws.send(this.pending.shift()!);
  }

  private startPing(ws: WebSocket): void {
    if (this.cfg.pingIntervalMs === 0) return;
    this.pingTimer = setInterval(() => {
      if (!this.alive) {
        this.hooks.log(`no pong within ${this.cfg.pingIntervalMs} ms; dropping the connection`);
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, this.cfg.pingIntervalMs);
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private countDrop(): void {
    this.droppedOutbound += 1;
    // Powers of two keep the log bounded while a long outage drops many.
    if ((this.droppedOutbound & (this.droppedOutbound - 1)) === 0) this.hooks.log(`outbound buffer full while disconnected: ${this.droppedOutbound} message(s) dropped so far`);
  }

  private report(state: GatewayState, extra: Partial<GatewayStatus>): void {
    this.hooks.onStatus({ state, url: this.cfg.url, attempt: this.attempt, ...extra });
  }
}

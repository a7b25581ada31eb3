import { randomBytes } from "node:crypto";
import type { Msg, NatsConnection, Subscription } from "nats";
import type { Logger } from "../log/index.js";
import { IntervalTally } from "./interval-tally.js";

/** Options of the at-most-once loss accounting of a NatsBroker. */
export interface LossLedgerOptions {
  /** How often a sync marker is sent while this process publishes at-most-once events. Default 100 ms. */
  syncIntervalMs?: number;
  /** A peer that has not confirmed a marker for this long is forgotten (it died or left NATS). Default 10,000 ms. */
  peerTtlMs?: number;
}

/** Subjects of the accounting; `_nexo.` is never delivered to event subscriptions. */
export const LEDGER_SUBJECTS = {
  sync: "_nexo.broker.sync",
  ack: (id: string) => `_nexo.broker.ack.${id}`,
  bye: "_nexo.broker.bye",
} as const;

interface Peer {
  /** The peer's connection epoch at its last confirmation: it changes each time the peer's subscriptions were re-made. */
  epoch: number;
  /** Our events up to this sequence number have reached the peer's process (or were for none of its subscriptions). */
  confirmed: number;
}

interface Marker {
  m: number;
  at: number;
}

/** Peers forgotten by silence, kept so a return on a new connection still counts what it missed. */
const MAX_GONE = 256;
/** Loss reports merged into one log line at most this often. */
const LOG_INTERVAL_MS = 1000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * What at-most-once (core NATS) publishing may have lost, as an upper bound
 * the publisher can read. Every event this process hands to NATS gets a
 * sequence number; every `syncIntervalMs` it publishes a marker carrying
 * the latest one, and every other NatsBroker answers with its connection
 * epoch. NATS keeps one publisher's messages in order towards one
 * subscriber, so a peer answering marker m has received every earlier event
 * meant for it. Events after the last point confirmed are counted as
 * possibly lost when that confirmation chain breaks: this process lost its
 * connection (the events in its socket and the server's buffers), or a peer
 * answers from a new connection (it may have missed events while it was
 * away, and events published before it re-subscribed found no interest).
 * A range is counted once however many reasons cover it.
 *
 * The same object answers the other brokers' markers, only once a round
 * trip after (re)connecting proved its subscriptions are back on the server.
 */
export class LossLedger {
  /** This broker's id in the accounting (random per process and connection object). */
  readonly id = randomBytes(8).toString("hex");
  private readonly syncIntervalMs: number;
  private readonly peerTtlMs: number;
  private readonly tally = new IntervalTally();
  private readonly peers = new Map<string, Peer>();
  private readonly gone = new Map<string, Peer>();
  private readonly subs: Subscription[] = [];
  /** Markers not yet confirmed by every peer, oldest first. */
  private markers: Marker[] = [];
  private seq = 0;
  private lastMarker = 0;
  private lastMarkerAt = 0;
  private epoch = 0;
  /** True while our subscriptions are known to be on the server (a round trip after connecting). */
  private answering = true;
  private connected = true;
  private timer: NodeJS.Timeout;
  private pendingLog: { added: number; reasons: Set<string> } | null = null;
  private lastLogAt = 0;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger | undefined,
    options: LossLedgerOptions = {},
  ) {
    this.syncIntervalMs = options.syncIntervalMs ?? 100;
    this.peerTtlMs = options.peerTtlMs ?? 10_000;
    this.subs.push(nc.subscribe(LEDGER_SUBJECTS.sync, { callback: (_e, msg) => this.onMarker(msg) }));
    this.subs.push(nc.subscribe(LEDGER_SUBJECTS.ack(this.id), { callback: (_e, msg) => this.onAck(msg) }));
    this.subs.push(nc.subscribe(LEDGER_SUBJECTS.bye, { callback: (_e, msg) => this.onBye(msg) }));
    this.timer = setInterval(() => this.tick(), this.syncIntervalMs);
    this.timer.unref();
  }

  /** An at-most-once event was handed to the NATS client. */
  sent(): void {
    this.seq++;
  }

  /** Events counted as possibly lost in transit (an upper bound; the broker adds its unsent events). */
  get possiblyLost(): number {
    return this.tally.total;
  }

  /** Events sent that not every known peer has confirmed yet. */
  get unconfirmed(): number {
    let low = this.seq;
    for (const p of this.peers.values()) low = Math.min(low, p.confirmed);
    return this.seq - low;
  }

  /** Other brokers currently confirming our markers. */
  get peerCount(): number {
    return this.peers.size;
  }

  /** The connection dropped: whatever no peer confirmed may be lost with it. Stop answering until re-subscribed. */
  onDisconnect(): void {
    this.connected = false;
    this.answering = false;
    let low = this.seq;
    for (const p of this.peers.values()) low = Math.min(low, p.confirmed);
    this.count(low, this.seq, "the connection to NATS was lost with events not yet confirmed by every peer");
    // Markers in flight died with the connection; the peers' time to answer starts again after the reconnect.
    this.markers = [];
  }

  /** The connection is back: answer markers again once a round trip proves our subscriptions are on the server. */
  onReconnect(): void {
    this.connected = true;
    const epoch = ++this.epoch;
    this.nc.flush().then(
      () => {
        if (epoch === this.epoch && this.connected) this.answering = true;
      },
      () => undefined,
    );
  }

  /** Stop the timer and subscriptions; the others forget this broker at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.flushLog(true);
    for (const s of this.subs) s.unsubscribe();
    if (!this.nc.isClosed() && this.connected) {
      try {
        this.nc.publish(LEDGER_SUBJECTS.bye, encoder.encode(JSON.stringify({ id: this.id })));
      } catch {
        // closing anyway
      }
    }
  }

  // ---- internals ---------------------------------------------------------------

  private tick(): void {
    const now = Date.now();
    // A marker a peer could not answer (it was still re-subscribing) is sent again once
    // publishing has stopped, so confirmation never waits for the next event.
    const fresh = this.seq > this.lastMarker;
    const resend = !fresh && this.unconfirmed > 0 && now - this.lastMarkerAt >= this.syncIntervalMs * 5;
    if (this.connected && !this.nc.isClosed() && (fresh || resend)) {
      try {
        this.nc.publish(LEDGER_SUBJECTS.sync, encoder.encode(JSON.stringify({ id: this.id, m: this.seq })), { reply: LEDGER_SUBJECTS.ack(this.id) });
        this.lastMarkerAt = now;
        if (fresh) {
          this.lastMarker = this.seq;
          // A resent marker keeps its first time: a peer's time to answer is not extended by resending.
          this.markers.push({ m: this.seq, at: now });
        }
      } catch {
        // the connection is closing; the next tick tries again
      }
    }
    this.expire(now);
    this.flushLog(false);
  }

  /** A peer whose oldest unconfirmed marker is older than the TTL has died or left: stop waiting for it. */
  private expire(now: number): void {
    let low = this.seq;
    for (const [id, p] of this.peers) {
      const oldest = this.markers.find((k) => k.m > p.confirmed);
      if (oldest && now - oldest.at > this.peerTtlMs) {
        this.peers.delete(id);
        this.gone.set(id, p);
        if (this.gone.size > MAX_GONE) this.gone.delete(this.gone.keys().next().value as string);
        this.logger?.warn(
          { peer: id, confirmed: p.confirmed, silentMs: now - oldest.at },
          "NATS loss accounting: a peer stopped confirming and is forgotten (events in its own buffers are not counted)",
        );
        continue;
      }
      low = Math.min(low, p.confirmed);
    }
    // Markers every peer has passed are of no further use.
    let drop = 0;
    while (drop < this.markers.length && this.markers[drop].m <= low) drop++;
    if (drop > 0) this.markers = this.markers.slice(drop);
  }

  private onMarker(msg: Msg): void {
    if (!this.answering || !msg.reply) return;
    let from: unknown;
    let m: unknown;
    try {
      ({ id: from, m } = JSON.parse(decoder.decode(msg.data)) as { id?: unknown; m?: unknown });
    } catch {
      return;
    }
    if (from === this.id || typeof m !== "number") return;
    try {
      msg.respond(encoder.encode(JSON.stringify({ id: this.id, e: this.epoch, m })));
    } catch {
      // the connection is going; the marker's sender counts the consequences
    }
  }

  private onAck(msg: Msg): void {
    let a: { id?: unknown; e?: unknown; m?: unknown };
    try {
      a = JSON.parse(decoder.decode(msg.data)) as typeof a;
    } catch {
      return;
    }
    if (typeof a.id !== "string" || typeof a.e !== "number" || typeof a.m !== "number" || a.m > this.seq) return;
    let p = this.peers.get(a.id);
    if (!p) {
      p = this.gone.get(a.id);
      if (p) {
        this.gone.delete(a.id);
        this.peers.set(a.id, p);
      }
    }
    if (!p) {
      // A new peer: nothing before its first confirmation was meant for it.
      this.peers.set(a.id, { epoch: a.e, confirmed: a.m });
      return;
    }
    if (p.epoch !== a.e) {
      this.count(p.confirmed, a.m, "a peer re-subscribed on a new NATS connection and may have missed events meanwhile");
      p.epoch = a.e;
      p.confirmed = a.m;
      return;
    }
    if (a.m > p.confirmed) p.confirmed = a.m;
  }

  private onBye(msg: Msg): void {
    try {
      const { id } = JSON.parse(decoder.decode(msg.data)) as { id?: unknown };
      if (typeof id === "string") {
        this.peers.delete(id);
        this.gone.delete(id);
      }
    } catch {
      // not ours
    }
  }

  private count(lo: number, hi: number, reason: string): void {
    const added = this.tally.add(lo, hi);
    if (added === 0) return;
    this.pendingLog ??= { added: 0, reasons: new Set() };
    this.pendingLog.added += added;
    this.pendingLog.reasons.add(reason);
    this.flushLog(false);
  }

  /** One warning per LOG_INTERVAL_MS at most, summing what was counted meanwhile. */
  private flushLog(force: boolean): void {
    if (!this.pendingLog) return;
    const now = Date.now();
    if (!force && now - this.lastLogAt < LOG_INTERVAL_MS) return;
    this.logger?.warn(
      { possiblyLost: this.tally.total, added: this.pendingLog.added, reasons: [...this.pendingLog.reasons] },
      "at-most-once events possibly lost (an upper bound; durable paths are not affected)",
    );
    this.pendingLog = null;
    this.lastLogAt = now;
  }
}

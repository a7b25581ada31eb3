import type { ProgressEvent } from "../app/index.js";
import type { RunRecord } from "./types.js";

/** What a subscriber to a run's stream receives. */
export interface RunEventListener {
  onEvent(event: ProgressEvent): void;
  /** The run ended; no more events follow. */
  onEnd(record: RunRecord): void;
}

/** A subscription: the buffered events after the requested seq, then live ones through the listener. */
export interface RunSubscription {
  /** Events still buffered after `afterSeq`, oldest first. */
  replay: ProgressEvent[];
  /** Set when the run already ended (nothing live will follow). */
  ended: RunRecord | undefined;
  unsubscribe(): void;
}

/**
 * The progress events of one run, kept for subscribers that come late: a ring
 * of `capacity` events; when full the oldest is dropped and counted in
 * `dropped` (a run never waits for its readers).
 */
export class RunEventLog {
  private readonly items: ProgressEvent[] = [];
  private readonly listeners = new Set<RunEventListener>();
  private final: RunRecord | undefined;
  /** Events evicted from the ring before the run ended. */
  dropped = 0;

  constructor(private readonly capacity: number) {}

  push(event: ProgressEvent): void {
    if (this.final) return;
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped += 1;
    }
    this.items.push(event);
    for (const l of this.listeners) l.onEvent(event);
  }

  end(record: RunRecord): void {
    if (this.final) return;
    this.final = record;
    for (const l of this.listeners) l.onEnd(record);
    this.listeners.clear();
  }

  subscribe(afterSeq: number, listener: RunEventListener): RunSubscription {
    const replay = this.items.filter((e) => e.seq > afterSeq);
    if (this.final) return { replay, ended: this.final, unsubscribe: () => undefined };
    this.listeners.add(listener);
    return { replay, ended: undefined, unsubscribe: () => void this.listeners.delete(listener) };
  }
}

/** Why `acquire` did not grant a slot. */
export type LimiterRefusal = "queue_full" | "timeout";

interface Waiter {
  grant: () => void;
  refuse: (why: LimiterRefusal) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The package's one concurrency primitive: at most `maxInFlight` holders;
 * beyond that callers wait (FIFO) in a queue of at most `maxQueued`, each
 * giving up at its own deadline. Tool calls to one plugin use it bounded
 * (the host refuses requests once 256 frames sit unflushed in a plugin's
 * stdin, so 1,000 calls fired in one tick must be paced); poller runs use it
 * as a semaphore, and the SQLite store with `maxInFlight` 1 as a FIFO lock.
 */
export class Limiter {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private head = 0;

  /** `maxQueued` defaults to unbounded. */
  constructor(
    readonly maxInFlight: number,
    readonly maxQueued: number = Infinity,
  ) {}

  /** Run `fn` holding a slot (waiting up to `timeoutMs`), and give the slot back however it ends. */
  async run<T>(fn: () => T | Promise<T>, timeoutMs = Infinity): Promise<T> {
    const slot = this.acquire(timeoutMs);
    if (slot !== true) await slot;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.active;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Take a slot: returns true at once when one is free (the hot path, no
   * promise), else a promise that resolves when granted and rejects with the
   * refusal reason. Every grant must be paired with one `release()`.
   */
  acquire(timeoutMs: number): true | Promise<void> {
    if (this.active < this.maxInFlight && this.queued === 0) {
      this.active++;
      return true;
    }
    if (this.queued >= this.maxQueued) return Promise.reject<void>("queue_full" satisfies LimiterRefusal);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        grant: () => {
          if (w.timer) clearTimeout(w.timer);
          resolve();
        },
        refuse: (why) => reject(why),
        timer: undefined,
      };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        w.timer = setTimeout(() => {
          const i = this.queue.indexOf(w, this.head);
          if (i >= 0) this.queue.splice(i, 1);
          w.refuse("timeout");
        }, timeoutMs);
      }
      this.queue.push(w);
    });
  }

  /** Give a slot back; the oldest waiter (if any) gets it. */
  release(): void {
    if (this.head < this.queue.length) {
      const w = this.queue[this.head++];
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      w.grant();
      return;
    }
    this.active--;
  }
}

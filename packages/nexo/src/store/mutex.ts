/** A FIFO async lock: `run(fn)` waits for every earlier `run` to settle before calling `fn`. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** Callers queued or running. */
  get pending(): number {
    return this.waiting;
  }

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    this.waiting += 1;
    try {
      await prev;
      return await fn();
    } finally {
      this.waiting -= 1;
      release();
    }
  }
}

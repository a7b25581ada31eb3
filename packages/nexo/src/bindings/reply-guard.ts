/**
 * The correlation ids of the replies one binding published, most recent
 * `capacity` of them (insertion-ordered map as an LRU). An inbound event
 * carrying one of them is that reply coming back (a channel echoed it, or
 * another binding forwarded it): the binding does not run on it again, so a
 * chain through any number of bindings ends after each ran once.
 */
export class ReplyGuard {
  private readonly ids = new Map<string, true>();

  constructor(private readonly capacity = 10_000) {}

  /** Record a correlation id about to be published (before publishing: the echo may arrive at once). */
  remember(id: string): void {
    this.ids.delete(id);
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value as string);
  }

  /** True when `id` is the correlation id of one of this binding's recent replies. */
  isOwnReply(id: string | undefined): boolean {
    return id !== undefined && this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }
}

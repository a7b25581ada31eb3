/** Intervals kept before the oldest are forgotten (each outage adds about one; merging keeps the list short). */
const MAX_INTERVALS = 1024;

/**
 * Counts positions of a sequence at most once: `add(lo, hi)` marks the
 * half-open range (lo, hi] and returns how many of its positions were not
 * marked before. Overlapping ranges reported for several reasons (the
 * connection dropped, and each peer reconnected) are counted once.
 */
export class IntervalTally {
  /** Disjoint, sorted, non-adjacent (lo, hi] ranges. */
  private ranges: Array<[number, number]> = [];
  private counted = 0;

  /** Positions marked so far. */
  get total(): number {
    return this.counted;
  }

  /** Mark (lo, hi]; returns the positions newly marked (0 for an empty or already marked range). */
  add(lo: number, hi: number): number {
    if (!(hi > lo)) return 0;
    let added = hi - lo;
    let nlo = lo;
    let nhi = hi;
    const kept: Array<[number, number]> = [];
    for (const r of this.ranges) {
      if (r[1] < nlo || r[0] > nhi) {
        kept.push(r);
        continue;
      }
      // Overlapping or touching: what it already marked is not new.
      added -= Math.max(0, Math.min(r[1], hi) - Math.max(r[0], lo));
      nlo = Math.min(nlo, r[0]);
      nhi = Math.max(nhi, r[1]);
    }
    kept.push([nlo, nhi]);
    kept.sort((a, b) => a[0] - b[0]);
    // A very long life with many separate episodes: forget the oldest (a later report reaching that far back is then counted again, never less).
    this.ranges = kept.length > MAX_INTERVALS ? kept.slice(kept.length - MAX_INTERVALS) : kept;
    this.counted += added;
    return added;
  }
}

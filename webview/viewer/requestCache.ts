/**
 * Per-slice requests to the host, shared by what is shown and what is prefetched: one request in flight per
 * slice (a prefetch the user catches up with is awaited, not asked again), the last `size` answers kept, and
 * requests for slices the user has moved far away from cancelled (a slider drag must not queue the series).
 */
export class SliceRequests<T> {
  private readonly entries = new Map<number, Promise<T>>();
  private readonly inflight = new Map<number, AbortController>();

  constructor(private readonly size: number, private readonly fetch: (index: number, signal: AbortSignal) => Promise<T>) {}

  /** The answer for slice `index`: cached, in flight, or asked now. Rejects with an AbortError when dropped. */
  get(index: number): Promise<T> {
    const hit = this.entries.get(index);
    if (hit) {
      this.entries.delete(index);
      this.entries.set(index, hit); // most recently used last
      return hit;
    }
    const controller = new AbortController();
    this.inflight.set(index, controller);
    const p = this.fetch(index, controller.signal).finally(() => {
      if (this.inflight.get(index) === controller) this.inflight.delete(index);
    });
    p.catch(() => {
      if (this.entries.get(index) === p) this.entries.delete(index);
    });
    this.put(index, p);
    return p;
  }

  /** Seed slice `index` with an answer already at hand. */
  put(index: number, value: T | Promise<T>): void {
    this.entries.delete(index);
    this.entries.set(index, Promise.resolve(value));
    while (this.entries.size > this.size) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
  }

  has(index: number): boolean {
    return this.entries.has(index);
  }

  /** Cancel the requests still running for slices outside [lo, hi]. */
  keepWithin(lo: number, hi: number): void {
    for (const [i, c] of this.inflight) {
      if (i >= lo && i <= hi) continue;
      c.abort();
      this.inflight.delete(i);
      this.entries.delete(i);
    }
  }

  /** Forget everything (the answers are stale: new models, a new series). */
  clear(): void {
    for (const c of this.inflight.values()) c.abort();
    this.inflight.clear();
    this.entries.clear();
  }
}

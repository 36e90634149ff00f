/**
 * The most recent payloads of a loglet, by offset, bounded in bytes. Partition processors read
 * right behind the tail, so the writer keeps what it just committed and serves those reads
 * without a disk read (local loglet) or a round trip to the log servers (replicated loglet).
 */
/** What a loglet keeps unless told otherwise: a few seconds of a busy partition. */
export const DEFAULT_TAIL_CACHE_BYTES = 8 << 20;

export class TailCache {
  /** payloads[head + (offset - first)] holds `offset`, for first <= offset < next. */
  private payloads: Uint8Array[] = [];
  private head = 0;
  private first: number;
  private bytes = 0;

  constructor(
    nextOffset: number,
    private readonly maxBytes: number,
  ) {
    this.first = nextOffset;
  }

  /** The lowest offset still cached (equals `next` when empty). */
  get firstOffset(): number {
    return this.first;
  }

  /** One past the last cached offset. */
  get nextOffset(): number {
    return this.first + this.payloads.length - this.head;
  }

  /** Appends the payloads at `nextOffset` onwards, evicting the oldest beyond the byte bound. */
  push(payloads: readonly Uint8Array[]): void {
    for (const p of payloads) {
      this.payloads.push(p);
      this.bytes += p.length;
    }
    while (this.bytes > this.maxBytes && this.head < this.payloads.length) this.evictOldest();
  }

  /** Drops offsets at or below `offset` (a trim). */
  evictThrough(offset: number): void {
    while (this.first <= offset && this.head < this.payloads.length) this.evictOldest();
  }

  /** The cached payload at `offset`, or undefined. */
  get(offset: number): Uint8Array | undefined {
    if (offset < this.first || offset >= this.nextOffset) return undefined;
    return this.payloads[this.head + offset - this.first];
  }

  /**
   * The cached payloads from `from` up to `to`, consecutive: empty if `from` is not cached, and
   * after the first only as many as fit in `maxBytes`.
   */
  range(from: number, to: number, maxBytes = Infinity): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (let o = from; o <= to; o++) {
      const payload = this.get(o);
      if (payload === undefined || (out.length > 0 && bytes + payload.length > maxBytes)) break;
      out.push(payload);
      bytes += payload.length;
    }
    return out;
  }

  private evictOldest(): void {
    this.bytes -= this.payloads[this.head].length;
    this.head++;
    this.first++;
    // Compact now and then instead of shifting on every eviction.
    if (this.head > 1024 && this.head * 2 > this.payloads.length) {
      this.payloads = this.payloads.slice(this.head);
      this.head = 0;
    }
  }
}

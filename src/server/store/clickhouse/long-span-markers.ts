/**
 * @module Which seconds hold the starts of long spans near a time window, remembered briefly.
 *
 * A window read must also find spans that started long before the window and still overlap it.
 * The store lists such spans in `span_keys` under duration-class markers (class k: spans lasting
 * up to LONG_SPAN_NANO·2^(k+1)), and every window read first asks which seconds of each class can
 * reach the window. A trace walk reads a dozen windows a few milliseconds apart, one round trip
 * each for markers that are almost always the same (and usually none): measured at 300k spans,
 * 13 of a 40-span walk's 28 ClickHouse queries. This cache asks once for a region padded around
 * the window and answers the walk's next windows inside it from memory.
 *
 * Freshness: the store drops the cache when it writes a long span itself; a long span written
 * through another Weft server shows in window reads here after at most `ttlMs`, as if the trace
 * had been asked for that much earlier. Id-key lookups (trace, span, parent) never use it.
 */

/** Duration classes, and the first `span_keys` fingerprints (0..CLASSES-1) they are filed under. */
export const LONG_CLASSES = 24;

export interface MarkerRegion {
  /** Per class: the first second a span of that class may start in and still reach the window. */
  fromBucket: number[];
  /** The last second a span overlapping the window may start in. */
  toBucket: number;
}

interface Cached {
  region: MarkerRegion;
  /** [class, start second] of the long spans in the region. */
  rows: Array<[number, number]>;
  fetchedAtMs: number;
}

export class LongSpanMarkerCache {
  private cached: Cached | null = null;
  /** Bumped by every invalidation: a query that started before one must not be remembered. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The long-span start seconds that can reach `want`, or null when the cache cannot say. */
  lookup(want: MarkerRegion): number[] | null {
    const c = this.cached;
    if (c === null || this.nowMs() - c.fetchedAtMs > this.ttlMs) return null;
    if (want.toBucket > c.region.toBucket) return null;
    for (let k = 0; k < LONG_CLASSES; k++) if ((want.fromBucket[k] as number) < (c.region.fromBucket[k] as number)) return null;
    return LongSpanMarkerCache.select(c.rows, want);
  }

  /** Call before the query; pass the answer to `store`. */
  begin(): number {
    return this.generation;
  }

  /** Remembers what a query for `region` found (`rows`: every class marker inside it), unless a write came between. */
  store(region: MarkerRegion, rows: Array<[number, number]>, generation: number): void {
    if (generation !== this.generation) return;
    this.cached = { region, rows, fetchedAtMs: this.nowMs() };
  }

  /** This server wrote a long span: what is remembered may lack it. */
  invalidate(): void {
    this.generation++;
    this.cached = null;
  }

  /** Start seconds of the markers that can reach the window `want` describes. */
  static select(rows: Array<[number, number]>, want: MarkerRegion): number[] {
    const out: number[] = [];
    for (const [k, bucket] of rows) if (bucket >= (want.fromBucket[k] as number) && bucket <= want.toBucket) out.push(bucket);
    return out;
  }
}

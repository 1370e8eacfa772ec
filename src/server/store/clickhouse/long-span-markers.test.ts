import { describe, expect, it } from 'vitest';
import { LONG_CLASSES, LongSpanMarkerCache } from './long-span-markers.js';
import type { MarkerRegion } from './long-span-markers.js';

/** A region whose class k reaches back 2^(k+1) seconds before `from`. */
const region = (from: number, to: number): MarkerRegion => ({
  fromBucket: Array.from({ length: LONG_CLASSES }, (_, k) => Math.max(0, from - 2 ** (k + 1))),
  toBucket: to,
});

describe('long-span marker cache', () => {
  it('answers windows inside the fetched region, each class only as far back as it reaches', () => {
    let now = 0;
    const c = new LongSpanMarkerCache(2000, () => now);
    c.store(region(1000, 1020), [[0, 995], [0, 1003], [3, 990], [5, 1030]], c.begin());
    // Class 0 reaches 2 s back from 1005 (1003 yes, 995 no); class 3 reaches 16 s back (990 yes).
    expect(c.lookup(region(1005, 1010))?.sort()).toStrictEqual([1003, 990].sort());
    expect(c.lookup(region(999, 1010))).toBeNull(); // starts before the fetched region
    expect(c.lookup(region(1005, 1021))).toBeNull(); // ends after it
    now = 2001;
    expect(c.lookup(region(1005, 1010))).toBeNull(); // stale
  });

  it('forgets on invalidate, and does not keep an answer to a query that a write overtook', () => {
    const c = new LongSpanMarkerCache(2000, () => 0);
    c.store(region(1000, 1020), [], c.begin());
    expect(c.lookup(region(1005, 1010))).toStrictEqual([]);
    c.invalidate();
    expect(c.lookup(region(1005, 1010))).toBeNull();
    const before = c.begin();
    c.invalidate(); // a long span written while the query ran
    c.store(region(1000, 1020), [], before);
    expect(c.lookup(region(1005, 1010))).toBeNull();
  });
});

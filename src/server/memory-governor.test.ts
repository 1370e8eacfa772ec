/** @module The memory governor forces a full collection when the resident size nears the limit, at most every 2 s. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FORCED_GC_SHARE, startMemoryGovernor } from './memory-governor.js';

const MiB = 1024 * 1024;

afterEach(() => {
  vi.useRealTimers();
});

describe('memory governor', () => {
  it('collects once the resident size passes its share of the limit, then not again for 2 s; the resident size read after the collection is what admission sees', () => {
    vi.useFakeTimers();
    const limit = 1000 * MiB;
    let rss = 500 * MiB;
    const collections: number[] = [];
    const g = startMemoryGovernor({
      limitBytes: limit,
      sample: () => ({ rss, heapUsed: 200 * MiB }),
      collect: () => {
        collections.push(Date.now());
        rss = 600 * MiB; // garbage given back
      },
    });
    vi.advanceTimersByTime(1000);
    expect(collections).toHaveLength(0);
    expect(g.residentBytes()).toBe(500 * MiB);

    rss = limit * FORCED_GC_SHARE + MiB;
    vi.advanceTimersByTime(100);
    expect(collections).toHaveLength(1);
    expect(g.residentBytes()).toBe(600 * MiB);

    // Still high (say the collection gave nothing back): no second collection within 2 s.
    rss = 900 * MiB;
    vi.advanceTimersByTime(1800);
    expect(collections).toHaveLength(1);
    expect(g.residentBytes()).toBe(900 * MiB);
    vi.advanceTimersByTime(300);
    expect(collections).toHaveLength(2);
    expect(g.stats().forcedGcs).toBe(2);
    g.stop();
  });

  it('does not collect a small heap (nothing to give back), however high the resident size', () => {
    vi.useFakeTimers();
    let collected = 0;
    const g = startMemoryGovernor({ limitBytes: 100 * MiB, sample: () => ({ rss: 99 * MiB, heapUsed: 8 * MiB }), collect: () => void collected++ });
    vi.advanceTimersByTime(5000);
    expect(collected).toBe(0);
    g.stop();
  });

  it("V8's own full collection runs and gives garbage back", () => {
    // Real collector: allocate garbage, let the governor's default collect run at a limit it is
    // always over.
    let junk: unknown[] | null = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `garbage-${i}` }));
    const before = process.memoryUsage().heapUsed;
    junk = null;
    const g = startMemoryGovernor({ limitBytes: 1, sample: () => ({ rss: 2, heapUsed: 64 * MiB }) });
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        g.stop();
        expect(junk).toBeNull();
        expect(g.stats().forcedGcs).toBeGreaterThanOrEqual(1);
        expect(process.memoryUsage().heapUsed).toBeLessThan(before);
        resolve();
      }, 300);
    });
  });
});

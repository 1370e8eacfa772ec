import { describe, expect, it } from 'vitest';
import { createLruTtlCache } from './lru-ttl-cache.js';

describe('LRU TTL cache with a weight bound', () => {
  const weighted = () => createLruTtlCache<number[]>(1000, () => 0, { maxWeight: 10, weigh: (v) => v.length });

  it('evicts from the least recently used end until the total weight fits', () => {
    const c = weighted();
    c.set('a', [1, 2, 3, 4], 1000);
    c.set('b', [1, 2, 3, 4], 1000);
    expect(c.get('a')).toHaveLength(4); // a is now the most recently used
    c.set('c', [1, 2, 3, 4], 1000); // 12 > 10: b goes, not a
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toHaveLength(4);
    expect(c.get('c')).toHaveLength(4);
    expect(c.size).toBe(2);
  });

  it('does not cache a value heavier than the whole bound, and keeps what it had', () => {
    const c = weighted();
    c.set('small', [1], 1000);
    c.set('huge', new Array<number>(11).fill(0), 1000);
    expect(c.get('huge')).toBeUndefined();
    expect(c.get('small')).toEqual([1]);
  });

  it('a replaced or expired entry gives its weight back', () => {
    let now = 0;
    const c = createLruTtlCache<number[]>(1000, () => now, { maxWeight: 10, weigh: (v) => v.length });
    c.set('a', new Array<number>(8).fill(0), 1000);
    c.set('a', [1], 1000); // replaced: 1 of 10 used
    c.set('b', new Array<number>(9).fill(0), 5);
    expect(c.get('a')).toEqual([1]);
    now = 10;
    expect(c.get('b')).toBeUndefined(); // expired: its 9 are free again
    c.set('c', new Array<number>(9).fill(0), 1000);
    expect(c.get('a')).toEqual([1]);
    expect(c.get('c')).toHaveLength(9);
  });
});

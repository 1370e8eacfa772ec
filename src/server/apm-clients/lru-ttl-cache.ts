/**
 * @module A small LRU cache whose entries also expire after a per-entry TTL.
 *
 * A Map keeps insertion order, so re-inserting on read makes the first key the least recently
 * used one. Expired entries are dropped when read; capacity evicts from the LRU end. The clock
 * is injected so tests move time without sleeping.
 */

export interface LruTtlCache<V> {
  /** The value, or undefined when absent or expired (an expired entry is removed). */
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs: number): void;
  readonly size: number;
}

/**
 * A weight bound on top of the entry count (e.g. spans held): entries are evicted from the LRU
 * end until the total fits, and a value heavier than the whole bound is not cached at all, so
 * a few huge traces cannot hold memory that a thousand small ones would not.
 */
export interface CacheWeight<V> {
  maxWeight: number;
  weigh: (value: V) => number;
}

export function createLruTtlCache<V>(maxEntries: number, now: () => number, weight?: CacheWeight<V>): LruTtlCache<V> {
  const entries = new Map<string, { value: V; expiresAt: number; weight: number }>();
  let total = 0;
  const remove = (key: string): void => {
    const e = entries.get(key);
    if (!e) return;
    total -= e.weight;
    entries.delete(key);
  };
  return {
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      entries.delete(key);
      if (e.expiresAt <= now()) {
        total -= e.weight;
        return undefined;
      }
      entries.set(key, e);
      return e.value;
    },
    set(key, value, ttlMs) {
      if (maxEntries <= 0 || ttlMs <= 0) return;
      remove(key);
      const w = weight ? weight.weigh(value) : 0;
      if (weight && w > weight.maxWeight) return;
      while (entries.size >= maxEntries || (weight && entries.size > 0 && total + w > weight.maxWeight)) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        remove(oldest.value);
      }
      entries.set(key, { value, expiresAt: now() + ttlMs, weight: w });
      total += w;
    },
    get size() {
      return entries.size;
    },
  };
}

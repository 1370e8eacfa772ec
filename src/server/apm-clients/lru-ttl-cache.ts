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

export function createLruTtlCache<V>(maxEntries: number, now: () => number): LruTtlCache<V> {
  const entries = new Map<string, { value: V; expiresAt: number }>();
  return {
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      entries.delete(key);
      if (e.expiresAt <= now()) return undefined;
      entries.set(key, e);
      return e.value;
    },
    set(key, value, ttlMs) {
      if (maxEntries <= 0 || ttlMs <= 0) return;
      entries.delete(key);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { value, expiresAt: now() + ttlMs });
    },
    get size() {
      return entries.size;
    },
  };
}

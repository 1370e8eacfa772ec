/**
 * @module The reference `Store`: everything in memory, correct and simple, not durable.
 *
 * Other stores are measured against this one by the conformance suite. Tests of the query API
 * and of assembly use it as their fake store.
 */
import { TracingError } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { linkKeysOf } from '../store.js';
import type { LinkKey, LinkKeyLookup, OperationInfo, SpanQuery, Store, TimeRange, TraceIdQuery, WriteResult } from '../store.js';
import { copySpan, effectiveLimit, matchesSpanQuery, newestFirst, overlapsRange, spanIdentity } from '../span-query-match.js';

function linkIndexKey(k: LinkKey): string {
  return `${k.type}\u0000${k.value}`;
}

class MemoryStore implements Store {
  readonly kind = 'memory';

  /** identity → span. A rewrite of the same identity replaces the stored span. */
  private readonly spans = new Map<string, SpanRecord>();
  /** link key → identities holding it. */
  private readonly links = new Map<string, Set<string>>();
  private closed = false;

  private ensureOpen(): void {
    if (this.closed) throw new TracingError('TRC_STORE_CLOSED', 'the memory store is closed', { httpStatus: 503 });
  }

  private unindex(id: string, span: SpanRecord): void {
    for (const k of linkKeysOf(span)) {
      const set = this.links.get(linkIndexKey(k));
      set?.delete(id);
      if (set?.size === 0) this.links.delete(linkIndexKey(k));
    }
  }

  async write(spans: readonly SpanRecord[]): Promise<WriteResult> {
    this.ensureOpen();
    for (const input of spans) {
      const span = copySpan(input);
      const id = spanIdentity(span);
      const previous = this.spans.get(id);
      if (previous) this.unindex(id, previous);
      this.spans.set(id, span);
      for (const k of linkKeysOf(span)) {
        const key = linkIndexKey(k);
        let set = this.links.get(key);
        if (!set) {
          set = new Set();
          this.links.set(key, set);
        }
        set.add(id);
      }
    }
    return { accepted: spans.length };
  }

  async getTrace(traceId: string, options: { limit?: number } = {}): Promise<SpanRecord[]> {
    this.ensureOpen();
    if (traceId === '') return [];
    const ids = this.links.get(linkIndexKey({ type: 'trace', value: traceId }));
    if (!ids) return [];
    const limit = options.limit === undefined ? Infinity : Math.max(0, Math.floor(options.limit));
    return [...ids].slice(0, limit).map((id) => copySpan(this.spans.get(id) as SpanRecord));
  }

  async findByLinkKeys(keys: readonly LinkKey[], options: LinkKeyLookup): Promise<SpanRecord[]> {
    this.ensureOpen();
    const limit = Math.max(0, Math.floor(options.limit));
    const excluded = new Set(options.excludeTraceIds ?? []);
    const seen = new Set<string>();
    const out: SpanRecord[] = [];
    for (const k of keys) {
      const ids = this.links.get(linkIndexKey(k));
      if (!ids) continue;
      for (const id of ids) {
        if (out.length >= limit) return out;
        if (seen.has(id)) continue;
        seen.add(id);
        const span = this.spans.get(id) as SpanRecord;
        if (options.timeRange && !overlapsRange(span, options.timeRange)) continue;
        if (span.traceId !== '' && excluded.has(span.traceId)) continue;
        out.push(copySpan(span));
      }
    }
    return out;
  }

  async findInTimeRange(timeRange: TimeRange, options: { limit: number }): Promise<SpanRecord[] | null> {
    this.ensureOpen();
    const limit = Math.max(0, Math.floor(options.limit));
    const out: SpanRecord[] = [];
    for (const span of this.spans.values()) {
      if (!overlapsRange(span, timeRange)) continue;
      if (out.length >= limit) return null;
      out.push(copySpan(span));
    }
    return out;
  }

  private matching(q: SpanQuery): SpanRecord[] {
    const out: SpanRecord[] = [];
    for (const span of this.spans.values()) if (matchesSpanQuery(span, q)) out.push(span);
    return out.sort(newestFirst);
  }

  async findSpans(q: SpanQuery): Promise<SpanRecord[]> {
    this.ensureOpen();
    return this.matching(q).slice(0, effectiveLimit(q.limit)).map(copySpan);
  }

  async findTraceIds(q: TraceIdQuery): Promise<string[]> {
    this.ensureOpen();
    const limit = effectiveLimit(q.limit);
    const out: string[] = [];
    const seen = new Set<string>();
    // Sorted newest first, so a trace's first appearance is its newest matching span.
    for (const span of this.matching(q)) {
      if (out.length >= limit) break;
      if (span.traceId === '' || seen.has(span.traceId)) continue;
      seen.add(span.traceId);
      out.push(span.traceId);
    }
    return out;
  }

  async services(): Promise<string[]> {
    this.ensureOpen();
    const set = new Set<string>();
    for (const s of this.spans.values()) if (s.service !== '') set.add(s.service);
    return [...set].sort();
  }

  async operations(service?: string): Promise<OperationInfo[]> {
    this.ensureOpen();
    const map = new Map<string, OperationInfo>();
    for (const s of this.spans.values()) {
      if (s.name === '' || (service !== undefined && s.service !== service)) continue;
      map.set(`${s.name}\u0000${s.kind}`, { name: s.name, kind: s.kind });
    }
    return [...map.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  }

  async attributeKeys(limit: number): Promise<string[]> {
    this.ensureOpen();
    const set = new Set<string>();
    for (const s of this.spans.values()) {
      for (const k of Object.keys(s.attributes)) set.add(k);
      for (const k of Object.keys(s.resource)) set.add(k);
    }
    return [...set].sort().slice(0, effectiveLimit(limit));
  }

  async countSpans(): Promise<number> {
    this.ensureOpen();
    return this.spans.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.spans.clear();
    this.links.clear();
  }
}

/** A new, empty in-memory store. Writes are not durable: a restart loses everything. */
export function createMemoryStore(): Store {
  return new MemoryStore();
}

/**
 * @module The bounded walk: gather a trace's spans from the link-key index, breadth-first.
 *
 * No rounds of searches over the whole store: each round asks the index for the keys first
 * seen in the previous round, each key in the time window of the spans that carry it. A key
 * that matches more than `maxPerKey` spans (a hot X-Request-ID, a wrapped tcp seq) keeps only
 * the spans nearest in time to the ones carrying it, is reported, and is returned in
 * `hotKeys` so assembly will not link through it either.
 *
 * Two things keep the rounds that do reach the store few (each one is a store round trip, and
 * a trace's links chain six to eight deep):
 * - Span-id keys (a span's parent, its children, its siblings) are not looked up for spans of a
 *   trace id the walk has read whole with getTrace: spans linked by span id share the trace id,
 *   so they are held already. Nor is a SYS or NET span's own id: the agent minted it, and no
 *   other span can name it.
 * - Time-bound keys (tcp seqs, syscall ids, X-Request-IDs) are answered from a window cache:
 *   one `findInTimeRange` read of every span around the trace, extended when the walk reaches
 *   past it. Every span that could match a key inside the window is in it, so the answers are
 *   the store's. A window denser than `windowSpans` turns the cache off for the walk and the
 *   lookups go to the index as before.
 */
import { linkCandidatesOf, type SpanRecord } from '../../model/index.js';
import { linkKeysOf } from '../store/store.js';
import type { LinkKey, SpanReader } from '../store/store.js';
import { canonicalKey, spanInterner } from './span-identity.js';
import { DEFAULT_TOLERANCES, absDiff, hotKeyId, l7Conflict } from './link-rules.js';

export interface CollectLimits {
  /** Stop adding spans at this many. */
  maxSpans: number;
  /** A key matching more spans than this is hot (see the module doc). */
  maxPerKey: number;
  /** Breadth-first rounds (default 8). Each round is one parallel batch of index lookups. */
  maxRounds?: number;
  /** Time allowance around the spans carrying a key (default 60 ms: network delay + clock offset). */
  windowSlackNano?: bigint;
  /** Most spans the window cache may hold (default 4096; 0 turns it off). */
  windowSpans?: number;
}

const DEFAULT_WINDOW_SPANS = 4096;

/**
 * The spans overlapping [lo, hi], read from the store, indexed by their time-bound link keys.
 * `cover` extends the window; it returns false (and stays off) when the store reports the
 * widened window denser than `maxSpans`.
 */
class WindowCache {
  private lo = 0n;
  private hi = -1n;
  private off: boolean;
  private readonly held = new Set<SpanRecord>();
  private readonly byKey = new Map<string, SpanRecord[]>();

  constructor(
    private readonly reader: SpanReader,
    private readonly maxSpans: number,
    private readonly same: (s: SpanRecord) => SpanRecord,
  ) {
    this.off = maxSpans <= 0;
  }

  /** `inside`: distinct spans known to overlap [lo, hi] (more than `maxSpans` cannot fit: no read). */
  async cover(lo: bigint, hi: bigint, inside: number): Promise<boolean> {
    if (this.off) return false;
    const empty = this.hi < this.lo;
    if (!empty && this.lo <= lo && hi <= this.hi) return true;
    if (inside > this.maxSpans) {
      // The read would answer "too dense" after scanning the window (0.4 s for a 10k-span trace).
      this.off = true;
      this.byKey.clear();
      return false;
    }
    const parts: Array<[bigint, bigint]> = empty ? [[lo, hi]] : [];
    if (!empty && lo < this.lo) parts.push([lo, this.lo]);
    if (!empty && hi > this.hi) parts.push([this.hi, hi]);
    const got = await Promise.all(parts.map(([a, b]) => this.reader.findInTimeRange({ startUnixNano: a, endUnixNano: b }, { limit: this.maxSpans - this.held.size })));
    if (got.some((g) => g === null)) {
      this.off = true;
      this.byKey.clear();
      return false;
    }
    for (const spans of got as SpanRecord[][]) for (const s of spans) this.hold(s);
    if (this.held.size > this.maxSpans) {
      this.off = true;
      this.byKey.clear();
      return false;
    }
    this.lo = empty || lo < this.lo ? lo : this.lo;
    this.hi = empty || hi > this.hi ? hi : this.hi;
    return true;
  }

  /** Spans of the window carrying the key. Only valid inside a window `cover` returned true for. */
  find(keyId: string): SpanRecord[] {
    return this.byKey.get(keyId) ?? [];
  }

  private hold(s: SpanRecord): void {
    const k = this.same(s);
    if (this.held.has(k)) return;
    this.held.add(k);
    for (const key of linkKeysOf(s)) {
      if (!TIMED_TYPES.has(key.type)) continue;
      const id = hotKeyId(key.type, key.value);
      const l = this.byKey.get(id);
      if (l) l.push(s);
      else this.byKey.set(id, [s]);
    }
  }
}

export interface CollectSeed {
  traceId?: string;
  spanId?: string;
}

export interface CollectResult {
  spans: SpanRecord[];
  warnings: string[];
  /** `hotKeyId(type, value)` of every capped key; pass to `assemble({ hotKeys })`. */
  hotKeys: string[];
}

const WALKED_TYPES = new Set(['span', 'parent', 'tcp_seq', 'syscall', 'x_request_id']);
const TIMED_TYPES = new Set(['tcp_seq', 'syscall', 'x_request_id']);
const isIdKey = (k: LinkKey): boolean => k.type === 'span' || k.type === 'parent';
/** `isIdKey` of the key whose `hotKeyId` this is. */
const isIdKeyId = (id: string): boolean => id.startsWith('span\u0000') || id.startsWith('parent\u0000');
/** The key whose `hotKeyId` this is (a type never holds the separator; a value may). */
function keyOfId(id: string): LinkKey {
  const at = id.indexOf('\u0000');
  return { type: id.slice(0, at) as LinkKey['type'], value: id.slice(at + 1) };
}

export async function collectTraceSpans(reader: SpanReader, seed: CollectSeed, limits: CollectLimits): Promise<CollectResult> {
  const maxRounds = limits.maxRounds ?? 8;
  const slack = limits.windowSlackNano ?? DEFAULT_TOLERANCES.networkDelayNano + DEFAULT_TOLERANCES.hostClockOffsetNano;
  const warnings: string[] = [];
  const hotKeys = new Set<string>();
  const held = new Map<SpanRecord, SpanRecord>();
  const seenKeys = new Set<string>();
  const seenTraces = new Set<string>();
  // Spans of equal content as one object (span-identity.ts), so Maps keyed by it de-duplicate by
  // content, as canonical keys did, without a key text per span.
  const same = spanInterner().of;
  const window = new WindowCache(reader, limits.windowSpans ?? DEFAULT_WINDOW_SPANS, same);
  let capped = false;
  // Trace ids whose spans are all held (read whole by getTrace, none left out at the span
  // limit), and the held spans by time-bound key: an index lookup leaves those traces out and
  // their matches come from here, so the answer per key is the store's (see module doc).
  const wholeTraces = new Set<string>();
  // A span's walked link keys as their ids (`hotKeyId`), read up to three times per span. Ids
  // only: the key objects are made again (keyOfId) for the few ids a lookup needs. An object pair
  // per key of every span (90k for a 10k-span trace) lived through the walk, and every young
  // collection copied them.
  const keysCache = new Map<SpanRecord, string[]>();
  const keysOf = (s: SpanRecord): string[] => {
    let ks = keysCache.get(s);
    if (ks === undefined) {
      ks = [];
      for (const key of linkKeysOf(s)) if (WALKED_TYPES.has(key.type)) ks.push(hotKeyId(key.type, key.value));
      keysCache.set(s, ks);
    }
    return ks;
  };
  const heldByTimedKey = new Map<string, SpanRecord[]>();

  const add = (spans: readonly SpanRecord[]): SpanRecord[] => {
    const fresh: SpanRecord[] = [];
    for (const s of spans) {
      if (held.size >= limits.maxSpans) {
        if (!capped) warnings.push(`trace walk stopped at ${limits.maxSpans} spans (maxSpans)`);
        capped = true;
        break;
      }
      const k = same(s);
      if (held.has(k)) continue;
      held.set(k, s);
      fresh.push(s);
      for (const id of keysOf(s)) {
        if (isIdKeyId(id)) continue;
        const l = heldByTimedKey.get(id);
        if (l) l.push(s);
        else heldByTimedKey.set(id, [s]);
      }
    }
    return fresh;
  };

  let frontier: SpanRecord[] = [];
  // One span past the limit, so a trace bigger than it is read no further and reported cut.
  const traceLimit = { limit: limits.maxSpans + 1 };
  if (seed.traceId) {
    seenTraces.add(seed.traceId);
    frontier = add(await reader.getTrace(seed.traceId, traceLimit));
    if (!capped) wholeTraces.add(seed.traceId);
  }
  if (seed.spanId) {
    const bySpan = await reader.findByLinkKeys([{ type: 'span', value: seed.spanId }], { limit: limits.maxPerKey + 1 });
    frontier.push(...add(bySpan.filter((s) => s.spanId === seed.spanId)));
  }

  for (let round = 0; round < maxRounds && frontier.length > 0 && !capped; round++) {
    // New trace ids: followed only while the walk has none yet (an uninstrumented seed reaching
    // an instrumented service); later ones would glue two traces together.
    const newTraces = [...new Set(frontier.map((s) => s.traceId).filter((t) => t && !seenTraces.has(t)))].sort();
    const follow = seenTraces.size === 0;
    const traceSpansRead = follow ? Promise.all(newTraces.map((t) => reader.getTrace(t, traceLimit))) : Promise.resolve([]);
    if (follow) for (const t of newTraces) seenTraces.add(t);
    const byKey = new Map<string, { key: LinkKey; holders: SpanRecord[] }>();
    // Span-id links stay inside one trace id; one read whole holds them all (see module doc).
    const inReadTrace = (s: SpanRecord): boolean => s.traceId !== '' && seenTraces.has(s.traceId);
    const hold = (id: string, s: SpanRecord): void => {
      // A SYS or NET span's own id was minted by the agent and never travels on the wire, so
      // no other span carries it, as its parent or otherwise.
      if (isIdKeyId(id) && (inReadTrace(s) || (s.source !== 'app' && keyOfId(id).value === s.spanId))) return;
      if (seenKeys.has(id)) return;
      const e = byKey.get(id);
      if (e) e.holders.push(s);
      else byKey.set(id, { key: keyOfId(id), holders: [s] });
    };
    for (const s of frontier) {
      for (const id of keysOf(s)) hold(id, s);
      if (inReadTrace(s)) continue;
      // A span's children carry its id as their parent; its siblings share its parent.
      if (s.spanId) hold(hotKeyId('parent', s.spanId), s);
      if (s.parentSpanId) hold(hotKeyId('span', s.parentSpanId), s);
    }
    for (const id of byKey.keys()) seenKeys.add(id);
    // Two index calls per round: explicit ids (no window) and the time-bound keys (one window
    // covering every holder; each key's own window is applied below).
    const entries = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const windowOf = (holders: SpanRecord[]): [bigint, bigint] => {
      let lo = holders[0]?.startTimeUnixNano ?? 0n;
      let hi = holders[0]?.endTimeUnixNano ?? 0n;
      for (const h of holders) {
        if (h.startTimeUnixNano < lo) lo = h.startTimeUnixNano;
        if (h.endTimeUnixNano > hi) hi = h.endTimeUnixNano;
      }
      return [lo - slack, hi + slack];
    };
    const idKeys = entries.filter(([, e]) => isIdKey(e.key));
    const timedKeys = entries.filter(([, e]) => !isIdKey(e.key));
    const perCallLimit = (n: number): number => Math.min(limits.maxSpans * 4, n * (limits.maxPerKey + 1));
    let tlo = 0n;
    let thi = 0n;
    timedKeys.forEach(([, e], k) => {
      const [lo, hi] = windowOf(e.holders);
      if (k === 0 || lo < tlo) tlo = lo;
      if (k === 0 || hi > thi) thi = hi;
    });
    // From the window cache when it covers the keys' windows (no row limit: every match is in
    // memory already, and hot keys are capped per key below); else one index call.
    let timedFromIndex = false;
    let timedStoreRows = 0;
    const readTimed = async (): Promise<SpanRecord[]> => {
      if (timedKeys.length === 0) return [];
      const holders = new Set<SpanRecord>();
      for (const [, e] of timedKeys) for (const h of e.holders) holders.add(h);
      if (await window.cover(tlo, thi, holders.size)) {
        const out = new Map<SpanRecord, SpanRecord>();
        for (const [id] of timedKeys) for (const s of window.find(id)) out.set(same(s), s);
        return [...out.values()];
      }
      timedFromIndex = true;
      // Traces held whole are left out of the lookup; their spans with these keys are added from
      // memory (a 10k-span trace otherwise fetched its own spans again, one per tcp seq).
      const whole = [...wholeTraces];
      const fromStore = (
        await reader.findByLinkKeys(
          timedKeys.map(([, e]) => e.key),
          { limit: perCallLimit(timedKeys.length), timeRange: { startUnixNano: tlo, endUnixNano: thi }, excludeTraceIds: whole },
        )
      ).filter((s) => !wholeTraces.has(s.traceId));
      timedStoreRows = fromStore.length;
      const out = new Map<SpanRecord, SpanRecord>();
      for (const [id] of timedKeys) {
        for (const s of heldByTimedKey.get(id) ?? []) {
          if (wholeTraces.has(s.traceId) && s.endTimeUnixNano >= tlo && s.startTimeUnixNano <= thi) out.set(same(s), s);
        }
      }
      for (const s of fromStore) out.set(same(s), s);
      return [...out.values()];
    };
    const [idFound, timedFound, traceSpans] = await Promise.all([
      idKeys.length > 0 ? reader.findByLinkKeys(idKeys.map(([, e]) => e.key), { limit: perCallLimit(idKeys.length) }) : Promise.resolve([]),
      readTimed(),
      traceSpansRead,
    ]);
    const hitLimit = (found: number, keys: number): boolean => keys > 0 && found >= perCallLimit(keys);
    if (hitLimit(idFound.length, idKeys.length) || (timedFromIndex && hitLimit(timedStoreRows, timedKeys.length))) {
      warnings.push('an index lookup hit its row limit; the trace may be incomplete');
    }
    const hits = new Map<string, SpanRecord[]>();
    for (const s of [...idFound, ...timedFound]) {
      for (const id of keysOf(s)) {
        if (!byKey.has(id)) continue;
        const l = hits.get(id);
        if (l) l.push(s);
        else hits.set(id, [s]);
      }
    }
    const next: SpanRecord[] = [];
    for (const [k, spans] of traceSpans.entries()) {
      next.push(...add(spans));
      if (!capped) wholeTraces.add(newTraces[k] as string);
    }
    for (const [id, { key, holders }] of entries) {
      let found = hits.get(id) ?? [];
      if (key.type !== 'span' && key.type !== 'parent') {
        const [lo, hi] = windowOf(holders);
        found = found.filter((s) => s.endTimeUnixNano >= lo && s.startTimeUnixNano <= hi);
      }
      // A syscall id joins a call to the request its process was serving (rule 04), never two
      // requests: a server that reads several pipelined requests in one read (Redis under load)
      // gives them all that read's id, and following it read every other request's trace.
      if (key.type === 'syscall') found = found.filter((s) => holders.some((h) => syscallLinkable(h, s)));
      let keep = found;
      if (found.length > limits.maxPerKey) {
        hotKeys.add(id);
        const dist = (s: SpanRecord): bigint =>
          holders.reduce((m, h) => {
            const d = absDiff(h.startTimeUnixNano, s.startTimeUnixNano);
            return d < m ? d : m;
          }, absDiff(holders[0]?.startTimeUnixNano ?? 0n, s.startTimeUnixNano));
        keep = found
          .filter((s) => key.type !== 'tcp_seq' || holders.some((h) => !l7Conflict(h, s)))
          .sort((a, b) => {
            const da = dist(a);
            const db = dist(b);
            return da < db ? -1 : da > db ? 1 : canonicalKey(a) < canonicalKey(b) ? -1 : 1;
          })
          .slice(0, Math.max(1, Math.floor(limits.maxPerKey / 2)));
        warnings.push(`link key ${key.type}=${key.value} matched more than ${limits.maxPerKey} spans; kept the ${keep.length} nearest in time and did not link through it`);
      }
      next.push(...add(keep));
    }
    frontier = next;
    if (round === maxRounds - 1 && frontier.length > 0) warnings.push(`trace walk stopped after ${maxRounds} rounds with spans still to follow`);
  }
  // Calls the agent could not tie to one request name their candidates (syscall ids of the
  // requests open on the thread). Those requests are read — one lookup — so assembly can show
  // them as possible parents; the walk never expands from them.
  const candidateKeys: LinkKey[] = [];
  const askers: SpanRecord[] = [];
  for (const s of held.values()) {
    const ids = linkCandidatesOf(s.attributes);
    if (ids.length === 0) continue;
    askers.push(s);
    for (const id of ids) candidateKeys.push({ type: 'syscall', value: String(id) });
  }
  if (candidateKeys.length > 0 && !capped) {
    let lo = askers[0]?.startTimeUnixNano ?? 0n;
    let hi = askers[0]?.endTimeUnixNano ?? 0n;
    for (const a of askers) {
      if (a.startTimeUnixNano < lo) lo = a.startTimeUnixNano;
      if (a.endTimeUnixNano > hi) hi = a.endTimeUnixNano;
    }
    const found = await reader.findByLinkKeys(candidateKeys.slice(0, MAX_CANDIDATE_KEYS), {
      limit: Math.min(limits.maxPerKey * 4, MAX_CANDIDATE_KEYS * 2),
      timeRange: { startUnixNano: lo - slack, endUnixNano: hi + slack },
    });
    const fromAsker = (c: SpanRecord): boolean => c.observationPoint === 's-p' && askers.some((a) => a.hostId === c.hostId && a.processId === c.processId);
    add(found.filter(fromAsker));
  }
  // Each warning once: a row limit hit in several rounds is one thing to say.
  return { spans: [...held.values()], warnings: [...new Set(warnings)], hotKeys: [...hotKeys].sort() };
}

/**
 * Two spans sharing a syscall id can be linked by it (rules 04 and 09): a call and a request of
 * one process, or two calls of one thread (older agents chain them). Two requests cannot.
 */
function syscallLinkable(a: SpanRecord, b: SpanRecord): boolean {
  if (a.hostId !== b.hostId || a.processId !== b.processId) return false;
  return !(a.observationPoint === 's-p' && b.observationPoint === 's-p');
}

/** Candidate requests looked up for ambiguous calls at most (a busy event loop names many). */
const MAX_CANDIDATE_KEYS = 256;

/**
 * @module A canonical, input-order-free ordering of spans, so assembly is deterministic.
 *
 * Every choice assembly makes ("the nearest candidate", "the first one") breaks ties by this
 * order, so shuffling the input never changes the tree.
 */
import type { SpanRecord } from '../../model/index.js';

/**
 * Keys already made, by span object: the trace walk keys every span it holds and assembly keys
 * them again to sort (a JSON text of 31 fields each, a tenth of a 10k-span trace's server time
 * the second time). Spans are not changed once read (the store hands out fresh records, and
 * assembly copies a span it moves), so a span's key stays its key.
 */
const made = new WeakMap<SpanRecord, string>();

/** A string that differs whenever two spans differ in any field assembly or a viewer reads. */
export function canonicalKey(s: SpanRecord): string {
  let k = made.get(s);
  if (k === undefined) {
    k = keyText(s);
    made.set(s, k);
  }
  return k;
}

function keyText(s: SpanRecord): string {
  return JSON.stringify([
    s.startTimeUnixNano.toString(),
    s.endTimeUnixNano.toString(),
    s.source,
    s.observationPoint,
    s.hostId,
    s.processId,
    s.traceId,
    s.spanId,
    s.parentSpanId,
    s.reqTcpSeq,
    s.respTcpSeq,
    s.syscallTraceIdReq,
    s.syscallTraceIdResp,
    s.xRequestIdReq,
    s.xRequestIdResp,
    s.clientIp,
    s.clientPort,
    s.serverIp,
    s.serverPort,
    s.protocol,
    s.requestType,
    s.requestResource,
    s.responseCode,
    s.name,
    s.service,
    s.origin,
    s.threadIdReq,
    s.threadIdResp,
    s.interfaceName,
    s.statusCode,
    Object.entries(s.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
}

/**
 * Spans of equal content (the same canonical key) as one object: `of(s)` returns the first span
 * seen with `s`'s content, so a Map or Set keyed by it de-duplicates exactly as one keyed by
 * `canonicalKey` would. Spans are bucketed by start time and the key text is made only for two
 * different objects starting at the same nanosecond (the start is part of the key): a 10k-span
 * trace made 10k JSON texts of 31 fields for this before, most of the walk's garbage.
 */
export function spanInterner(): { of(s: SpanRecord): SpanRecord } {
  const byStart = new Map<bigint, SpanRecord | SpanRecord[]>();
  return {
    of(s) {
      const at = byStart.get(s.startTimeUnixNano);
      if (at === undefined) {
        byStart.set(s.startTimeUnixNano, s);
        return s;
      }
      if (at === s) return s;
      const list = Array.isArray(at) ? at : [at];
      for (const c of list) if (c === s || canonicalKey(c) === canonicalKey(s)) return c;
      list.push(s);
      if (list !== at) byStart.set(s.startTimeUnixNano, list);
      return s;
    },
  };
}

/** Canonical order: start time, then canonical key (made only for spans starting together). */
function canonicalOrder(a: SpanRecord, b: SpanRecord): number {
  if (a.startTimeUnixNano !== b.startTimeUnixNano) return a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1;
  if (a === b) return 0;
  const ka = canonicalKey(a);
  const kb = canonicalKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Spans sorted by start time, then by canonical key; duplicates (same key) removed. Keys differ
 * whenever starts do, so only spans with equal starts are keyed (same order, same duplicates).
 */
export function sortAndDedupe(spans: readonly SpanRecord[]): { spans: SpanRecord[]; duplicates: number } {
  const sorted = [...spans].sort(canonicalOrder);
  const out: SpanRecord[] = [];
  let duplicates = 0;
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.startTimeUnixNano === s.startTimeUnixNano && (last === s || canonicalKey(last) === canonicalKey(s))) {
      duplicates++;
      continue;
    }
    out.push(s);
  }
  return { spans: out, duplicates };
}

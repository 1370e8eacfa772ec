/**
 * @module Assembly step: correct clock offsets between hosts.
 *
 * Spans from one clock domain (a host, plus the APP spans placed on it) are never shifted
 * relative to each other. For every parent → child link that crosses domains, the child's
 * domain may be shifted by d where parent.start ≤ child.start + d and child.end + d ≤
 * parent.end. Domains are fixed in the order the pre-order walk meets them; the first is 0.
 * Each domain takes the d closest to 0 inside the intersection of its ranges (so a trace with
 * consistent clocks gets no shift at all); an empty intersection (a child longer than its
 * parent) takes the midpoint and a warning.
 */
import type { SpanRecord } from '../../model/index.js';

export interface ClockEdge {
  parent: number;
  child: number;
}

export interface ClockResult {
  /** Offset per span index (0n for most). */
  offsets: bigint[];
  warnings: string[];
}

export function correctClocks(
  spans: readonly SpanRecord[],
  domainOf: readonly string[],
  order: readonly number[],
  parentOf: readonly (number | null)[],
): ClockResult {
  const domainOffset = new Map<string, bigint>();
  const incoming = new Map<string, ClockEdge[]>();
  for (const i of order) {
    const p = parentOf[i];
    if (p === null || p === undefined) continue;
    const dc = domainOf[i] as string;
    if (dc === domainOf[p]) continue;
    const list = incoming.get(dc);
    if (list) list.push({ parent: p, child: i });
    else incoming.set(dc, [{ parent: p, child: i }]);
  }
  const warnings: string[] = [];
  for (const i of order) {
    const d = domainOf[i] as string;
    if (domainOffset.has(d)) continue;
    const edges = (incoming.get(d) ?? []).filter((e) => domainOffset.has(domainOf[e.parent] as string));
    if (edges.length === 0) {
      domainOffset.set(d, 0n);
      continue;
    }
    let lo: bigint | null = null;
    let hi: bigint | null = null;
    for (const e of edges) {
      const ps = spans[e.parent] as SpanRecord;
      const cs = spans[e.child] as SpanRecord;
      const off = domainOffset.get(domainOf[e.parent] as string) ?? 0n;
      const eLo = ps.startTimeUnixNano + off - cs.startTimeUnixNano;
      // A parent with no end (no response seen) bounds nothing on the right.
      const hasEnd = ps.endTimeUnixNano > ps.startTimeUnixNano;
      const eHi = hasEnd ? ps.endTimeUnixNano + off - cs.endTimeUnixNano : null;
      lo = lo === null || eLo > lo ? eLo : lo;
      if (eHi !== null) hi = hi === null || eHi < hi ? eHi : hi;
    }
    let shift: bigint;
    const low = lo ?? 0n;
    if (hi !== null && low > hi) {
      shift = (low + hi) / 2n;
      warnings.push(`clock of ${d}: children do not fit inside their parents on another host; shifted by the midpoint ${shift} ns`);
    } else if (low > 0n) {
      shift = low;
    } else if (hi !== null && hi < 0n) {
      shift = hi;
    } else {
      shift = 0n;
    }
    domainOffset.set(d, shift);
    if (shift !== 0n) warnings.push(`clock of ${d} corrected by ${shift} ns so its spans fit inside their parents`);
  }
  return { offsets: spans.map((_, i) => domainOffset.get(domainOf[i] as string) ?? 0n), warnings };
}

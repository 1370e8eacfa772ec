/**
 * @module Trace assembly: a pure function from a set of spans to one tree.
 *
 * This first cut links parentSpanId → spanId only (linkReason `span_id`, confidence 1),
 * drops exact duplicates, never builds a cycle, and puts orphans at the root with a warning.
 * The full rule sequence (merge, tcp-seq chains, process sets, clock correction, prune)
 * grows on top of the same signature.
 */
import type { SpanRecord } from '../../model/index.js';
import type { AssembledTrace, TraceNode } from './trace.js';

export interface AssembleOptions {
  /** The trace id to name the result after; defaults to the first trace id found. */
  traceId?: string;
}

/** Identity of a span for de-duplication: the store's idempotency key plus its times. */
function spanKey(s: SpanRecord): string {
  return `${s.traceId}|${s.spanId}|${s.source}|${s.observationPoint}|${s.startTimeUnixNano}|${s.endTimeUnixNano}`;
}

function compareSpans(a: SpanRecord, b: SpanRecord): number {
  if (a.startTimeUnixNano !== b.startTimeUnixNano) return a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1;
  const ka = spanKey(a);
  const kb = spanKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function assemble(spans: SpanRecord[], options: AssembleOptions = {}): AssembledTrace {
  const warnings: string[] = [];
  const seen = new Set<string>();
  const unique: SpanRecord[] = [];
  for (const s of [...spans].sort(compareSpans)) {
    const k = spanKey(s);
    if (seen.has(k)) continue;
    seen.add(k);
    unique.push(s);
  }
  const ids = unique.map((_, i) => `n${i}`);
  const bySpanId = new Map<string, number>();
  unique.forEach((s, i) => {
    if (s.spanId && !bySpanId.has(s.spanId)) bySpanId.set(s.spanId, i);
  });
  const parent: (number | null)[] = unique.map(() => null);
  unique.forEach((s, i) => {
    if (!s.parentSpanId) return;
    const p = bySpanId.get(s.parentSpanId);
    if (p === undefined || p === i) {
      warnings.push(`span ${s.spanId || ids[i]} has parent ${s.parentSpanId} which is not in the trace; shown at the root`);
      return;
    }
    // Refuse a link that would close a cycle.
    for (let a: number | null = p; a !== null; a = parent[a] ?? null) {
      if (a === i) {
        warnings.push(`span ${s.spanId} would close a parent cycle; shown at the root`);
        return;
      }
    }
    parent[i] = p;
  });
  const children: number[][] = unique.map(() => []);
  const roots: number[] = [];
  parent.forEach((p, i) => (p === null ? roots.push(i) : children[p]?.push(i)));
  const nodes: TraceNode[] = [];
  const visit = (i: number): void => {
    const p = parent[i] ?? null;
    const s = unique[i] as SpanRecord;
    nodes.push({
      id: ids[i] as string,
      span: s,
      parentId: p === null ? null : (ids[p] as string),
      linkReason: p === null ? null : 'span_id',
      confidence: p === null ? null : 1,
      clockOffsetNano: 0n,
    });
    for (const c of children[i] ?? []) visit(c);
  };
  for (const r of roots) visit(r);
  const traceId = options.traceId ?? unique.find((s) => s.traceId)?.traceId ?? '';
  const services = [...new Set(unique.map((s) => s.service).filter((x) => x))].sort();
  return { traceId, nodes, services, warnings };
}

/**
 * @module Search within a trace: which spans mention the text (name, service or owner, process,
 * resource, domain, protocol, observation point, ids). Case-insensitive substring match.
 */
import { spanOwner } from './trace-model.js';
import type { TraceModel } from './trace-model.js';

export function findInTrace(model: TraceModel, text: string): { match: Uint8Array; hits: number[] } | null {
  const q = text.trim().toLowerCase();
  if (q === '') return null;
  const match = new Uint8Array(model.spans.length);
  const hits: number[] = [];
  for (let i = 0; i < model.spans.length; i++) {
    const s = model.spans[i];
    if (s === undefined) continue;
    const fields = [s.name, spanOwner(s), s.processName, s.requestResource, s.requestDomain, s.protocol, s.observationPoint, s.spanId, s.id, s.endpoint, s.requestType, s.source];
    if (fields.some((f) => typeof f === 'string' && f.toLowerCase().includes(q))) {
      match[i] = 1;
      hits.push(i);
    }
  }
  hits.sort((a, b) => (model.start[a] as number) - (model.start[b] as number));
  return { match, hits };
}

/** Collapsed ancestors of `i` (to expand so that `i` shows). */
export function collapsedAncestors(model: TraceModel, collapsed: ReadonlySet<number>, i: number): number[] {
  const out: number[] = [];
  for (let p = model.parent[i] as number; p >= 0; p = model.parent[p] as number) if (collapsed.has(p)) out.push(p);
  return out;
}

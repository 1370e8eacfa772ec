/**
 * @module Search within a trace: which spans mention the text (name, service or owner, process,
 * resource, domain, protocol, observation point, ids). Case-insensitive substring match.
 */
import type { TraceModel } from './trace-model.js';
import type { TextField } from './span-table.js';

const SEARCHED: readonly TextField[] = ['name', 'processName', 'requestResource', 'requestDomain', 'protocol', 'observationPoint', 'spanId', 'id', 'endpoint', 'requestType', 'source'];

export function findInTrace(model: TraceModel, text: string): { match: Uint8Array; hits: number[] } | null {
  const q = text.trim().toLowerCase();
  if (q === '') return null;
  const n = model.count;
  const match = new Uint8Array(n);
  const hits: number[] = [];
  const readers = SEARCHED.map((f) => model.text(f));
  for (let i = 0; i < n; i++) {
    if (model.owner(i).toLowerCase().includes(q) || readers.some((read) => read(i).toLowerCase().includes(q))) {
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

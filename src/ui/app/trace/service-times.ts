/**
 * @module The services panel's numbers: per service (owner), spans, self time and total time,
 * and the split by source. Self time is where a trace's time actually went.
 */
import type { SpanSource } from '../../../model/index.js';
import { SOURCES } from './trace-model.js';
import type { TraceModel } from './trace-model.js';

export interface ServiceTime {
  owner: string;
  spans: number;
  selfNs: number;
  totalNs: number;
  sources: Record<SpanSource, number>;
  errors: number;
}

/** One row per owner, the most self time first. */
export function serviceTimes(model: TraceModel): ServiceTime[] {
  const by = new Map<string, ServiceTime>();
  for (let i = 0; i < model.count; i++) {
    const owner = model.owner(i);
    let row = by.get(owner);
    if (row === undefined) {
      row = { owner, spans: 0, selfNs: 0, totalNs: 0, sources: { app: 0, sys: 0, net: 0 }, errors: 0 };
      by.set(owner, row);
    }
    row.spans++;
    row.selfNs += model.selfNs[i] as number;
    row.totalNs += (model.end[i] as number) - (model.start[i] as number);
    row.sources[SOURCES[model.source[i] as number] ?? 'app']++;
    row.errors += model.error[i] as number;
  }
  return [...by.values()].sort((a, b) => b.selfNs - a.selfNs || a.owner.localeCompare(b.owner));
}

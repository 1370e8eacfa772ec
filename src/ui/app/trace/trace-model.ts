/**
 * @module The one derived form of an assembled trace that every view reads: spans by index,
 * times relative to the trace's start as plain numbers (ns), parent and children by index, and
 * self-time. Built once per trace in O(n log n); typed arrays keep a 100k-span trace compact.
 */
import type { ApiSpan, ApiTrace } from '../api/types.js';
import { warningText } from '../api/types.js';

export interface TraceModel {
  traceId: string;
  spans: ApiSpan[];
  /** Unix ns of the earliest span start. */
  startUnixNano: bigint;
  /** Latest end minus earliest start, ns. */
  durationNs: number;
  /** Start and end of each span, ns from `startUnixNano`. */
  start: Float64Array;
  end: Float64Array;
  /** Parent index, -1 for a root (or a parent not in the response). */
  parent: Int32Array;
  depth: Int32Array;
  /** Children of each span, ordered by start. */
  children: number[][];
  /** Roots, ordered by start. */
  roots: number[];
  /** Duration minus the time covered by its children (clipped to the span), ns. */
  selfNs: Float64Array;
  /** 1 where the span is an error (status error, or an L7 outcome other than ok/unknown). */
  error: Uint8Array;
  byId: Map<string, number>;
  services: string[];
  warnings: string[];
}

export function isErrorSpan(s: Pick<ApiSpan, 'statusCode' | 'responseStatus'>): boolean {
  return s.statusCode === 'error' || (s.responseStatus !== 'ok' && s.responseStatus !== 'unknown');
}

function toBig(s: string): bigint {
  try {
    return BigInt(s);
  } catch {
    return 0n;
  }
}

export function buildTraceModel(trace: ApiTrace): TraceModel {
  const spans = trace.spans;
  const n = spans.length;
  const startsBig = new Array<bigint>(n);
  const endsBig = new Array<bigint>(n);
  let t0: bigint | null = null;
  let t1: bigint | null = null;
  for (let i = 0; i < n; i++) {
    const s = spans[i] as ApiSpan;
    const a = toBig(s.startTimeUnixNano);
    let b = toBig(s.endTimeUnixNano);
    if (b < a) b = a; // a missing response: draw it as a point, not backwards
    startsBig[i] = a;
    endsBig[i] = b;
    if (t0 === null || a < t0) t0 = a;
    if (t1 === null || b > t1) t1 = b;
  }
  const base = t0 ?? 0n;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    start[i] = Number((startsBig[i] as bigint) - base);
    end[i] = Number((endsBig[i] as bigint) - base);
  }
  const byId = new Map<string, number>();
  for (let i = 0; i < n; i++) byId.set((spans[i] as ApiSpan).id, i);
  const parent = new Int32Array(n).fill(-1);
  const children: number[][] = Array.from({ length: n }, () => []);
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    const pid = (spans[i] as ApiSpan).parentId;
    const p = pid === null ? undefined : byId.get(pid);
    if (p === undefined || p === i) roots.push(i);
    else {
      parent[i] = p;
      (children[p] as number[]).push(i);
    }
  }
  const byStart = (a: number, b: number): number => (start[a] as number) - (start[b] as number) || (end[b] as number) - (end[a] as number) || a - b;
  roots.sort(byStart);
  for (const c of children) if (c.length > 1) c.sort(byStart);
  // Depth by an explicit walk (no recursion: a deep chain must not blow the stack). A cycle in a
  // malformed response cannot be reached from a root, so such spans become roots themselves.
  const depth = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const visit = (r: number): void => {
    depth[r] = 0;
    stack.push(r);
    while (stack.length > 0) {
      const i = stack.pop() as number;
      for (const c of children[i] as number[]) {
        if (depth[c] !== -1) continue;
        depth[c] = (depth[i] as number) + 1;
        stack.push(c);
      }
    }
  };
  for (const r of roots) visit(r);
  for (let i = 0; i < n; i++) {
    if (depth[i] !== -1) continue;
    parent[i] = -1;
    roots.push(i);
    visit(i);
  }
  const selfNs = new Float64Array(n);
  const error = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    selfNs[i] = selfTime(i, start, end, children[i] as number[]);
    if (isErrorSpan(spans[i] as ApiSpan)) error[i] = 1;
  }
  return {
    traceId: trace.traceId,
    spans,
    startUnixNano: base,
    durationNs: t0 === null || t1 === null ? 0 : Number(t1 - t0),
    start,
    end,
    parent,
    depth,
    children,
    roots,
    selfNs,
    error,
    byId,
    services: trace.services,
    warnings: (trace.warnings as unknown[]).map(warningText),
  };
}

/** Duration not covered by any child (children sorted by start, clipped to the span). */
function selfTime(i: number, start: Float64Array, end: Float64Array, kids: number[]): number {
  const a = start[i] as number;
  const b = end[i] as number;
  let covered = 0;
  let curA = -1;
  let curB = -1;
  for (const c of kids) {
    const ca = Math.max(a, start[c] as number);
    const cb = Math.min(b, end[c] as number);
    if (cb <= ca) continue;
    if (ca > curB) {
      if (curB > curA) covered += curB - curA;
      curA = ca;
      curB = cb;
    } else if (cb > curB) curB = cb;
  }
  if (curB > curA) covered += curB - curA;
  return Math.max(0, b - a - covered);
}

/** The label a span goes by: its service, else its process, else where it was captured. */
export function spanOwner(s: ApiSpan): string {
  if (s.service) return s.service;
  if (s.processName) return s.processName;
  if (s.source === 'net') return s.interfaceName ? `net ${s.interfaceName}` : 'network';
  return '(unknown service)';
}

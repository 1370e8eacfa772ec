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

/** Digits kept as a Number below the shared prefix: 10^15 ns (11.5 days) fits in 2^53 exactly. */
const LOW_DIGITS = 15;
const DIGITS_RE = /^\d+$/;

/**
 * Nanosecond strings → ns relative to the earliest, as Numbers. Timestamps of one trace share
 * their leading digits, so the usual path compares and subtracts the last 15 digits as plain
 * numbers; BigInt (slow for 100k spans) is the fallback for anything else.
 */
function relativeTimes(startStr: readonly string[], endStr: readonly string[]): { base: bigint; start: Float64Array; end: Float64Array; spanNs: number } {
  const n = startStr.length;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const first = startStr[0] ?? '0';
  const len = first.length;
  const prefix = first.slice(0, Math.max(0, len - LOW_DIGITS));
  const fast = startStr.every((x, i) => x.length === len && DIGITS_RE.test(x) && x.startsWith(prefix) && (endStr[i] ?? '').length === len && (endStr[i] as string).startsWith(prefix) && DIGITS_RE.test(endStr[i] as string));
  if (fast && len > 0) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = Number((startStr[i] as string).slice(prefix.length));
      let b = Number((endStr[i] as string).slice(prefix.length));
      if (b < a) b = a; // a missing response: draw it as a point, not backwards
      start[i] = a;
      end[i] = b;
      if (a < min) min = a;
      if (b > max) max = b;
    }
    for (let i = 0; i < n; i++) {
      start[i] = (start[i] as number) - min;
      end[i] = (end[i] as number) - min;
    }
    const base = n === 0 ? 0n : BigInt(prefix + String(min).padStart(LOW_DIGITS, '0'));
    return { base, start, end, spanNs: n === 0 ? 0 : max - min };
  }
  let t0: bigint | null = null;
  let t1: bigint | null = null;
  const a = startStr.map(toBig);
  const b = endStr.map((x, i) => {
    const v = toBig(x);
    return v < (a[i] as bigint) ? (a[i] as bigint) : v;
  });
  for (let i = 0; i < n; i++) {
    if (t0 === null || (a[i] as bigint) < t0) t0 = a[i] as bigint;
    if (t1 === null || (b[i] as bigint) > t1) t1 = b[i] as bigint;
  }
  const base = t0 ?? 0n;
  for (let i = 0; i < n; i++) {
    start[i] = Number((a[i] as bigint) - base);
    end[i] = Number((b[i] as bigint) - base);
  }
  return { base, start, end, spanNs: t0 === null || t1 === null ? 0 : Number(t1 - t0) };
}

export function buildTraceModel(trace: ApiTrace): TraceModel {
  const spans = trace.spans;
  const n = spans.length;
  const times = relativeTimes(
    spans.map((s) => s.startTimeUnixNano),
    spans.map((s) => s.endTimeUnixNano),
  );
  const { start, end } = times;
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
    startUnixNano: times.base,
    durationNs: times.spanNs,
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

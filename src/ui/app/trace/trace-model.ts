/**
 * @module The one derived form of an assembled trace that every view reads: spans by index,
 * times relative to the trace's start as plain numbers (ns), parent and children by index, and
 * self-time. Built once per trace in O(n log n) from a SpanTable (span-table.ts), so the columns
 * answer never turns into 10k span objects; typed arrays keep a 100k-span trace compact.
 */
import type { ApiSpan, ApiTrace, TraceColumns } from '../api/types.js';
import { warningText } from '../api/types.js';
import { tableFromColumns, tableFromSpans } from './span-table.js';
import type { NumberField, SpanTable, TextField } from './span-table.js';

export interface TraceModel {
  traceId: string;
  /** Number of spans. */
  count: number;
  /** The whole record of span `i` (built on first use). */
  span(i: number): ApiSpan;
  /** A text field reader: `const name = model.text('name'); name(i)`. */
  text(field: TextField): (i: number) => string;
  num(field: NumberField): (i: number) => number;
  /** What span `i` goes by: its service, else its process, else where it was captured. */
  owner(i: number): string;
  /** Index of the span with this node id, or -1. */
  indexOf(id: string): number;
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
  /** 1 where assembly moved the span to correct a clock offset. */
  clockMoved: Uint8Array;
  /** Index into SOURCES: 0 app, 1 sys, 2 net. */
  source: Uint8Array;
  services: string[];
  warnings: string[];
  /** The trace has more spans than the answer holds (the server's per-trace limit). */
  truncated: boolean;
}

export const SOURCES = ['app', 'sys', 'net'] as const;

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

/** The model of a span-per-object answer (tests, the benchmark's reference path). */
export function buildTraceModel(trace: ApiTrace): TraceModel {
  return modelOf(tableFromSpans(trace), trace.traceId, trace.services, trace.warnings as unknown[], (trace as { truncated?: unknown }).truncated === true);
}

/** The model of the columns answer (what the UI fetches). */
export function buildTraceModelFromColumns(c: TraceColumns): TraceModel {
  return modelOf(tableFromColumns(c), c.traceId, c.services, c.warnings as unknown[], c.truncated);
}

function ownerOf(service: string, processName: string, source: string, interfaceName: string): string {
  if (service) return service;
  if (processName) return processName;
  if (source === 'net') return interfaceName ? `net ${interfaceName}` : 'network';
  return '(unknown service)';
}

function modelOf(table: SpanTable, traceId: string, services: string[], warnings: unknown[], truncated: boolean): TraceModel {
  const n = table.count;
  const idOf = table.text('id');
  let times = table.times;
  if (times === null) {
    const st = table.text('startTimeUnixNano');
    const en = table.text('endTimeUnixNano');
    const r = relativeTimes(
      Array.from({ length: n }, (_, i) => st(i)),
      Array.from({ length: n }, (_, i) => en(i)),
    );
    times = { baseUnixNano: r.base, start: r.start, end: r.end };
  }
  const { start, end } = times;
  let durationNs = 0;
  for (let i = 0; i < n; i++) if ((end[i] as number) > durationNs) durationNs = end[i] as number;
  let byId: Map<string, number> | null = null;
  const indexOf = (id: string): number => {
    if (byId === null) {
      byId = new Map();
      for (let i = 0; i < n; i++) byId.set(idOf(i), i);
    }
    return byId.get(id) ?? -1;
  };
  let parent: Int32Array;
  if (table.parentIndex !== null && table.parentIndex.length === n) parent = Int32Array.from(table.parentIndex);
  else {
    parent = new Int32Array(n).fill(-1);
    const pidOf = table.text('parentId');
    for (let i = 0; i < n; i++) {
      const pid = pidOf(i);
      if (pid !== '') parent[i] = indexOf(pid);
    }
  }
  const children: number[][] = Array.from({ length: n }, () => []);
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = parent[i] as number;
    if (p < 0 || p >= n || p === i) {
      parent[i] = -1;
      roots.push(i);
    } else (children[p] as number[]).push(i);
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
    const p = parent[i] as number;
    if (p >= 0) {
      const siblings = children[p] as number[];
      siblings.splice(siblings.indexOf(i), 1);
    }
    parent[i] = -1;
    roots.push(i);
    visit(i);
  }
  const selfNs = new Float64Array(n);
  const error = new Uint8Array(n);
  const clockMoved = new Uint8Array(n);
  const source = new Uint8Array(n);
  const statusCode = table.text('statusCode');
  const responseStatus = table.text('responseStatus');
  const clock = table.text('clockOffsetNano');
  const src = table.text('source');
  for (let i = 0; i < n; i++) {
    selfNs[i] = selfTime(i, start, end, children[i] as number[]);
    const rs = responseStatus(i);
    if (statusCode(i) === 'error' || (rs !== 'ok' && rs !== 'unknown' && rs !== '')) error[i] = 1;
    const off = clock(i);
    if (off !== '' && off !== '0') clockMoved[i] = 1;
    const sv = src(i);
    source[i] = sv === 'sys' ? 1 : sv === 'net' ? 2 : 0;
  }
  const service = table.text('service');
  const processName = table.text('processName');
  const interfaceName = table.text('interfaceName');
  const owners = new Array<string | undefined>(n);
  return {
    traceId,
    count: n,
    span: (i) => table.span(i),
    text: (f) => table.text(f),
    num: (f) => table.num(f),
    owner(i) {
      let o = owners[i];
      if (o === undefined) {
        o = ownerOf(service(i), processName(i), SOURCES[source[i] as number] ?? 'app', interfaceName(i));
        owners[i] = o;
      }
      return o;
    },
    indexOf,
    startUnixNano: times.baseUnixNano,
    durationNs,
    start,
    end,
    parent,
    depth,
    children,
    roots,
    selfNs,
    error,
    clockMoved,
    source,
    services,
    warnings: warnings.map(warningText),
    truncated,
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
  return ownerOf(s.service, s.processName, s.source, s.interfaceName);
}

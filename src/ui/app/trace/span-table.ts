/**
 * @module The spans of one trace as the UI holds them: column reads for the fields every span
 * is asked for (names, owners, sources, keys), and a full record built only for the span a
 * person opens. Two sources give the same table: the columns answer
 * (`/api/v1/traces/{id}/columns`, what the UI fetches; no object per span is ever built up
 * front) and a span-per-object trace (`/api/v1/traces/{id}`, tests and the benchmark's
 * reference path).
 */
import type { ApiSpan, ApiTrace, TraceColumn, TraceColumns } from '../api/types.js';
import { fillSpanDefaults } from '../api/types.js';

/** Span fields holding strings (or null), read as text: '' for null or absent. */
export type TextField = { [K in keyof ApiSpan]-?: ApiSpan[K] extends string | null ? K : never }[keyof ApiSpan];
/** Span fields holding numbers (or null), read as numbers: 0 for null or absent. */
export type NumberField = { [K in keyof ApiSpan]-?: ApiSpan[K] extends number | null ? K : never }[keyof ApiSpan];

export interface SpanTable {
  readonly count: number;
  /** Reads one text field of span `i`; bind once per loop (`const name = t.text('name')`). */
  text(field: TextField): (i: number) => string;
  num(field: NumberField): (i: number) => number;
  /** The whole record of span `i` (built on first use from columns, then kept). */
  span(i: number): ApiSpan;
  /** Parent index per span (-1 for roots), when the source knows it without a lookup. */
  readonly parentIndex: Int32Array | null;
  /** Start and end as ns after `baseUnixNano`, when the source has them as numbers. */
  readonly times: { baseUnixNano: bigint; start: Float64Array; end: Float64Array } | null;
}

/** A table over span objects (the span-per-object answer, already defaults-filled). */
export function tableFromSpans(trace: ApiTrace): SpanTable {
  const spans = trace.spans;
  return {
    count: spans.length,
    text: (field) => (i) => {
      const v = (spans[i] as ApiSpan | undefined)?.[field];
      return typeof v === 'string' ? v : '';
    },
    num: (field) => (i) => {
      const v = (spans[i] as ApiSpan | undefined)?.[field];
      return typeof v === 'number' ? v : 0;
    },
    span: (i) => spans[i] as ApiSpan,
    parentIndex: null,
    times: null,
  };
}

const EMPTY_TEXT = (): string => '';
const ZERO = (): number => 0;

function freshEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return [];
  if (typeof v === 'object' && v !== null) return {};
  return v;
}

/** What derived columns (`parent-id`, `hop`) are read from. */
interface Derive {
  parent: readonly number[];
  /** The `id` of span i. */
  id: (i: number) => string;
  linkReason: (i: number) => string;
  start: readonly number[] | null;
  end: readonly number[] | null;
}

/** Reads column `col` for span `i` as the span-per-object answer would hold it. */
function valueAt(col: TraceColumn, i: number, strings: readonly string[], base: bigint, sparse: Map<number, string> | undefined, d: Derive): unknown {
  switch (col.type) {
    case 'const':
      return col.value;
    case 'parent-id': {
      const p = d.parent[i] ?? -1;
      return p >= 0 ? d.id(p) : (sparse?.get(i) ?? null);
    }
    case 'hop': {
      const p = d.parent[i] ?? -1;
      if (p < 0 || d.start === null || d.end === null || d.linkReason(i) !== 'tcp_seq') return null;
      return { requestNano: String((d.start[i] ?? 0) - (d.start[p] ?? 0)), responseNano: String((d.end[p] ?? 0) - (d.end[i] ?? 0)) };
    }
    case 'string': {
      const k = col.values[i] ?? -1;
      return k < 0 ? null : (strings[k] ?? '');
    }
    case 'text':
    case 'number':
      return col.values[i] ?? null;
    case 'ns':
      return (base + BigInt(col.values[i] ?? 0)).toString();
    case 'decimal':
      return String(col.values[i] ?? 0);
    case 'sparse': {
      // Nested values come as JSON text, parsed only for the span asked for.
      const text = sparse?.get(i);
      if (text === undefined) return freshEmpty(col.empty);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return freshEmpty(col.empty);
      }
    }
  }
  return null;
}

/** A table over the columns answer: O(columns) to open, O(1) per read. */
export function tableFromColumns(c: TraceColumns): SpanTable {
  const { strings, columns } = c;
  const base = BigInt(c.baseUnixNano);
  const built = new Map<number, ApiSpan>();
  let sparseIndex: Map<string, Map<number, string>> | null = null;
  const sparseOf = (key: string, col: TraceColumn): Map<number, string> | undefined => {
    if (col.type !== 'sparse' && col.type !== 'parent-id') return undefined;
    sparseIndex ??= new Map();
    let m = sparseIndex.get(key);
    if (m === undefined) {
      m = new Map(col.type === 'sparse' ? col.values : col.missing);
      sparseIndex.set(key, m);
    }
    return m;
  };
  const derive: Derive = {
    parent: c.parent,
    id: (i) => table.text('id')(i),
    linkReason: (i) => table.text('linkReason')(i),
    start: columns.startTimeUnixNano?.type === 'ns' ? columns.startTimeUnixNano.values : null,
    end: columns.endTimeUnixNano?.type === 'ns' ? columns.endTimeUnixNano.values : null,
  };
  const startCol = columns.startTimeUnixNano;
  const endCol = columns.endTimeUnixNano;
  let times: SpanTable['times'] = null;
  if (startCol?.type === 'ns' && endCol?.type === 'ns') {
    const start = Float64Array.from(startCol.values);
    const end = Float64Array.from(endCol.values);
    // A missing response: drawn as a point, not backwards.
    for (let i = 0; i < end.length; i++) if ((end[i] as number) < (start[i] as number)) end[i] = start[i] as number;
    times = { baseUnixNano: base, start, end };
  }
  const table: SpanTable = {
    count: c.count,
    text(field) {
      const col = columns[field];
      if (col === undefined) return EMPTY_TEXT;
      if (col.type === 'string') {
        const vals = col.values;
        return (i) => {
          const k = vals[i] ?? -1;
          return k < 0 ? '' : (strings[k] ?? '');
        };
      }
      if (col.type === 'text') {
        const vals = col.values;
        return (i) => vals[i] ?? '';
      }
      if (col.type === 'const') {
        const v = col.value === null ? '' : String(col.value);
        return () => v;
      }
      return (i) => {
        const v = valueAt(col, i, strings, base, sparseOf(field, col), derive);
        return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
      };
    },
    num(field) {
      const col = columns[field];
      if (col === undefined) return ZERO;
      if (col.type === 'number') {
        const vals = col.values;
        return (i) => vals[i] ?? 0;
      }
      if (col.type === 'const') {
        const v = Number(col.value ?? 0) || 0;
        return () => v;
      }
      return (i) => Number(valueAt(col, i, strings, base, sparseOf(field, col), derive) ?? 0) || 0;
    },
    span(i) {
      let s = built.get(i);
      if (s === undefined) {
        const o: Record<string, unknown> = {};
        for (const [key, col] of Object.entries(columns)) o[key] = valueAt(col, i, strings, base, sparseOf(key, col), derive);
        s = fillSpanDefaults({ traceId: c.traceId, spans: [o as unknown as ApiSpan], services: [], warnings: [] }).spans[0] as ApiSpan;
        built.set(i, s);
      }
      return s;
    },
    parentIndex: Int32Array.from(c.parent),
    times,
  };
  return table;
}

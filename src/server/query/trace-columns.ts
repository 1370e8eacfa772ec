/**
 * @module The assembled trace in columns, for the web UI: `GET /api/v1/traces/{traceId}/columns`.
 *
 * The span-per-object JSON of `/api/v1/traces/{id}` costs a browser one object (and forty keys)
 * per span to parse before it can draw anything: about 1 KB and a few microseconds a span, so
 * seconds for a 10k-span trace on a busy machine. Here every span field is one column: strings
 * as indexes into one string table (services, names, observation points and protocols repeat
 * thousands of times), numbers as plain arrays, start and end as nanoseconds after the trace's
 * first start (exact below 2^53 ns, 104 days), and nested values (attributes, events, possible
 * parents) as sparse (index, JSON text) lists holding only the spans that have one. The parse is
 * then a handful of number arrays, the UI reads columns directly, and builds a span object only
 * for the span a person opens. The columns are derived from the same `ApiSpan`s as the JSON
 * answer, generically by key, so a field added there arrives here without an edit.
 */
import { durationNano } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import type { AssembledTrace, TraceNode } from '../tracing/trace.js';
import { hopBetween, toApiSpan } from './span-json.js';
import type { ApiHop, ApiSpan, ApiSpanEvent, ApiTrace } from './span-json.js';

export const TRACE_COLUMNS_FORMAT = 'weft-columns/2';

/** A column of `count` values. */
export type TraceColumn =
  /** Index into `strings`; -1 for null. For fields whose values repeat (services, names). */
  | { type: 'string'; values: number[] }
  /** Strings as they are (null kept). For fields nearly unique per span (ids). */
  | { type: 'text'; values: (string | null)[] }
  /** Numbers as they are (null kept). */
  | { type: 'number'; values: (number | null)[] }
  /** Decimal-string nanoseconds (`startTimeUnixNano`, `endTimeUnixNano`) minus `baseUnixNano`. */
  | { type: 'ns'; values: number[] }
  /** Decimal-string integers (durations, offsets) as numbers; only when all are exact. */
  | { type: 'decimal'; values: number[] }
  /**
   * Spans whose value is not `empty`, as [span index, the value as JSON text]; every other span
   * has `empty`. Text, so the browser parses a nested value (attributes, possible parents) only
   * for the span it opens: a 10k-span trace can carry 40k possible parents, 10 MB as objects.
   */
  | { type: 'sparse'; empty: unknown; values: [number, string][] }
  /** Every span holds `value` (a string, number or null): half the fields of a typical trace. */
  | { type: 'const'; value: string | number | null }
  /**
   * `parentId`: the `id` of the span at `parent[i]`; for a span whose parent is not in the
   * answer (-1), its own value when not null, listed as [span index, text].
   */
  | { type: 'parent-id'; missing: [number, string][] }
  /**
   * `hop`: derived from the `ns` start and end columns: for a span linked by `tcp_seq` to its
   * parent p, {requestNano: start[i] - start[p], responseNano: end[p] - end[i]} as decimal text;
   * null for every other span (what `hopBetween` gives).
   */
  | { type: 'hop' };

export interface TraceColumns {
  format: typeof TRACE_COLUMNS_FORMAT;
  traceId: string;
  services: string[];
  warnings: string[];
  truncated: boolean;
  count: number;
  /** Unix ns (decimal string) the `ns` columns count from: the earliest span start. */
  baseUnixNano: string;
  strings: string[];
  /** Index of each span's parent in these columns; -1 for a root (or a parent not in the answer). */
  parent: number[];
  columns: Record<string, TraceColumn>;
}

/** Fields written as ns after the base, when every value allows it. */
const NS_FIELDS: ReadonlySet<string> = new Set(['startTimeUnixNano', 'endTimeUnixNano']);
const DECIMAL_RE = /^-?\d+$/;

type EmptyKind = 'null' | 'array' | 'object';

/** Which empty value `v` is, if it is one. */
function emptyKind(v: unknown): EmptyKind | null {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'array' : null;
  if (typeof v === 'object') {
    for (const _k in v) return null;
    return 'object';
  }
  return null;
}

const EMPTY_VALUE: Record<EmptyKind, unknown> = { null: null, array: [], object: {} };

/** The empty value most spans hold in this column: the one a sparse column leaves out. */
function commonEmpty(values: readonly unknown[]): EmptyKind {
  const counts: Record<EmptyKind, number> = { null: 0, array: 0, object: 0 };
  for (const v of values) {
    const k = emptyKind(v);
    if (k !== null) counts[k]++;
  }
  return counts.array > counts.null && counts.array >= counts.object ? 'array' : counts.object > counts.null ? 'object' : 'null';
}

/** Interns strings into one table (the empty string first, as the most common value). */
function stringTable(): { strings: string[]; index: (s: string) => number } {
  const strings: string[] = [''];
  const at = new Map<string, number>([['', 0]]);
  let last = '';
  let lastIndex = 0;
  return {
    strings,
    index(s) {
      // Runs of one value are common (a service's spans sit together): no lookup for those.
      if (s === last) return lastIndex;
      let i = at.get(s);
      if (i === undefined) {
        i = strings.length;
        strings.push(s);
        at.set(s, i);
      }
      last = s;
      lastIndex = i;
      return i;
    },
  };
}

/** The earliest start, compared as text (shorter is smaller, then by digits): one BigInt, not n. */
function earliestStart(spans: readonly ApiSpan[]): bigint {
  let min: string | null = null;
  for (const s of spans) {
    const v = s.startTimeUnixNano;
    if (!DECIMAL_RE.test(v) || v.startsWith('-')) continue;
    if (min === null || v.length < min.length || (v.length === min.length && v < min)) min = v;
  }
  return min === null ? 0n : BigInt(min);
}

/** Digits compared as a Number below a shared prefix: 10^15 ns (11.5 days) is exact in a double. */
const LOW_DIGITS = 15;

/**
 * Decimal strings minus `base` as exact Numbers, or null when one is not a decimal or not exact.
 * Times of one trace share their leading digits with the base, so the usual case subtracts the
 * last 15 digits as Numbers; BigInt (slow per value) is the fallback.
 */
function asNumbers(values: readonly unknown[], base: bigint): number[] | null {
  const out = new Array<number>(values.length);
  const baseText = base.toString();
  const cut = Math.max(0, baseText.length - LOW_DIGITS);
  const prefix = baseText.slice(0, cut);
  const baseLow = Number(baseText.slice(cut));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'string' || !DECIMAL_RE.test(v)) return null;
    let d: number;
    if (v.length === baseText.length && v.startsWith(prefix)) d = Number(v.slice(cut)) - baseLow;
    else if (base === 0n && v.length <= LOW_DIGITS) d = Number(v);
    else d = Number(BigInt(v) - base);
    if (!Number.isSafeInteger(d)) return null;
    out[i] = d;
  }
  return out;
}

/** Values sampled to tell an id-like column from a repeating one. */
const DISTINCT_SAMPLE = 512;

/** True when most sampled values differ (ids): a string table would only add indexes. */
function mostlyDistinct(values: readonly unknown[]): boolean {
  const seen = new Set<unknown>();
  let sampled = 0;
  for (let i = 0; i < values.length && sampled < DISTINCT_SAMPLE; i++) {
    if (values[i] === null) continue;
    seen.add(values[i]);
    sampled++;
  }
  return sampled >= 16 && seen.size > sampled / 2;
}

function columnOf(key: string, values: readonly unknown[], base: bigint, intern: (s: string) => number): TraceColumn {
  let strings = true;
  let numbers = true;
  for (const v of values) {
    if (v === null) continue;
    if (typeof v !== 'string') strings = false;
    if (typeof v !== 'number' || !Number.isFinite(v)) numbers = false;
    if (!strings && !numbers) break;
  }
  if (strings) {
    if (NS_FIELDS.has(key)) {
      const ns = asNumbers(values, base);
      if (ns !== null) return { type: 'ns', values: ns };
    } else if (key.endsWith('Nano')) {
      const d = asNumbers(values, 0n);
      if (d !== null) return { type: 'decimal', values: d };
    }
    if (mostlyDistinct(values)) return { type: 'text', values: values as (string | null)[] };
    return { type: 'string', values: values.map((v) => (v === null ? -1 : intern(v as string))) };
  }
  if (numbers) return { type: 'number', values: values as (number | null)[] };
  // Only the column's own empty value is left out: a null among arrays is listed, so it comes back null.
  const empty = commonEmpty(values);
  const sparse: [number, string][] = [];
  for (let i = 0; i < values.length; i++) if (emptyKind(values[i]) !== empty) sparse.push([i, JSON.stringify(values[i] ?? null)]);
  return { type: 'sparse', empty: EMPTY_VALUE[empty], values: sparse };
}

/**
 * Span objects → one array per key. Spans built by one function share their key order, so
 * `Object.values` gives a whole row at once; reading `span[key]` key by key instead is a
 * megamorphic lookup per value, several times slower. A span with other keys is read by key.
 */
function transpose(spans: readonly Record<string, unknown>[], keys: readonly string[]): unknown[][] {
  const n = spans.length;
  const k = keys.length;
  const cols = keys.map(() => new Array<unknown>(n).fill(null));
  for (let i = 0; i < n; i++) {
    const s = spans[i] as Record<string, unknown>;
    const own = Object.keys(s);
    let sameOrder = own.length === k;
    for (let j = 0; sameOrder && j < k; j++) if (own[j] !== keys[j]) sameOrder = false;
    if (sameOrder) {
      const vals = Object.values(s);
      for (let j = 0; j < k; j++) (cols[j] as unknown[])[i] = vals[j] ?? null;
    } else {
      for (let j = 0; j < k; j++) (cols[j] as unknown[])[i] = s[keys[j] as string] ?? null;
    }
  }
  return cols;
}

/**
 * Columns the browser can derive from others, replaced by their rule: `parentId` from `parent`
 * and `id`, `hop` from the times and `linkReason`. Each is replaced only when the rule gives
 * every span's value exactly (checked here against the values), so the decoded spans are the same.
 */
function deriveColumns(columns: Record<string, TraceColumn>, parent: readonly number[], raw: (key: string) => readonly unknown[] | undefined): void {
  const n = parent.length;
  const ids = raw('id');
  const parentIds = raw('parentId');
  if (columns.parentId !== undefined && ids !== undefined && parentIds !== undefined) {
    const missing: [number, string][] = [];
    let exact = true;
    for (let i = 0; exact && i < n; i++) {
      const p = parent[i] as number;
      const want = parentIds[i] ?? null;
      if (p >= 0) exact = ids[p] === want;
      else if (typeof want === 'string') missing.push([i, want]);
      else exact = want === null;
    }
    if (exact) columns.parentId = { type: 'parent-id', missing };
  }
  const start = columns.startTimeUnixNano;
  const end = columns.endTimeUnixNano;
  const reasons = raw('linkReason');
  const hops = raw('hop');
  if (columns.hop !== undefined && hops !== undefined && reasons !== undefined && start?.type === 'ns' && end?.type === 'ns') {
    let exact = true;
    for (let i = 0; exact && i < n; i++) {
      const p = parent[i] as number;
      const h = hops[i] as ApiHop | null | undefined;
      if (reasons[i] !== 'tcp_seq' || p < 0) exact = h === null || h === undefined;
      else {
        exact =
          h !== null &&
          h !== undefined &&
          Object.keys(h).length === 2 &&
          h.requestNano === String((start.values[i] as number) - (start.values[p] as number)) &&
          h.responseNano === String((end.values[p] as number) - (end.values[i] as number));
      }
    }
    if (exact) columns.hop = { type: 'hop' };
  }
}

/**
 * A column whose spans all hold one value, as that value (`const`): half the columns of a typical
 * trace (ports of untraced fields, empty strings, zero offsets), 0.5 MB of a 10k-span answer.
 * Times (`ns`) stay whole: the browser draws from them and derives hops from them.
 */
function constOf(col: TraceColumn, strings: readonly string[]): TraceColumn {
  if (col.type !== 'string' && col.type !== 'text' && col.type !== 'number' && col.type !== 'decimal') return col;
  const v = col.values;
  if (v.length === 0) return col;
  const first = v[0];
  for (let i = 1; i < v.length; i++) if (v[i] !== first) return col;
  if (col.type === 'string') return { type: 'const', value: (first as number) < 0 ? null : (strings[first as number] ?? '') };
  if (col.type === 'decimal') return { type: 'const', value: String(first) };
  return { type: 'const', value: first ?? null };
}

/** Derived and constant columns in their short forms (see deriveColumns and constOf). */
function shorten(columns: Record<string, TraceColumn>, parent: readonly number[], strings: readonly string[], raw: (key: string) => readonly unknown[] | undefined): void {
  deriveColumns(columns, parent, raw);
  for (const key of Object.keys(columns)) columns[key] = constOf(columns[key] as TraceColumn, strings);
}

/** The answer around its columns. */
function answerOf(
  trace: Pick<ApiTrace, 'traceId' | 'services' | 'warnings'>,
  truncated: boolean,
  base: bigint,
  strings: string[],
  parent: number[],
  columns: Record<string, TraceColumn>,
): TraceColumns {
  return {
    format: TRACE_COLUMNS_FORMAT,
    traceId: trace.traceId,
    services: trace.services,
    warnings: trace.warnings,
    truncated,
    count: parent.length,
    baseUnixNano: base.toString(),
    strings,
    parent,
    columns,
  };
}

/** The trace as columns: every key of every span, in the answer's span order. */
export function toTraceColumns(trace: ApiTrace, truncated: boolean): TraceColumns {
  const spans = trace.spans;
  const n = spans.length;
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const s of spans) {
    for (const k of Object.keys(s)) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  const base = earliestStart(spans);
  const table = stringTable();
  const columns: Record<string, TraceColumn> = {};
  const byKey = transpose(spans as unknown as Record<string, unknown>[], keys);
  keys.forEach((k, j) => {
    columns[k] = columnOf(k, byKey[j] as unknown[], base, table.index);
  });
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) indexOf.set((spans[i] as ApiSpan).id, i);
  const parent = spans.map((s) => (s.parentId === null ? -1 : (indexOf.get(s.parentId) ?? -1)));
  shorten(columns, parent, table.strings, (key) => {
    const j = keys.indexOf(key);
    return j < 0 ? undefined : byKey[j];
  });
  return answerOf(trace, truncated, base, table.strings, parent, columns);
}

/**
 * The ApiSpan keys `toApiSpan` computes (everything else it copies from the SpanRecord as is):
 * `traceColumnsOf` reads these from the node, the rest from `node.span` by key. A test checks that
 * every other key of `toApiSpan`'s answer is the record's own value, so a field converted there
 * must be added here.
 */
export const COMPUTED_API_KEYS: ReadonlySet<string> = new Set([
  'id',
  'parentId',
  'startTimeUnixNano',
  'endTimeUnixNano',
  'durationNano',
  'linkReason',
  'confidence',
  'clockOffsetNano',
  'possibleParents',
  'events',
  'hop',
]);

const NO_EVENTS: readonly ApiSpanEvent[] = [];
/** The columns `deriveColumns` reads by value. */
const DERIVED_FROM: ReadonlySet<string> = new Set(['id', 'parentId', 'linkReason', 'hop']);

/**
 * One reader per record field: `span[key]` with a variable key is a megamorphic lookup per
 * value, most of a column's cost; a property read at a fixed site is a few instructions. The
 * mapped type makes a new SpanRecord field a compile error here until it has its reader.
 */
const FIELD_READERS: { readonly [K in keyof SpanRecord]-?: (s: SpanRecord) => SpanRecord[K] } = {
  traceId: (s) => s.traceId,
  spanId: (s) => s.spanId,
  parentSpanId: (s) => s.parentSpanId,
  name: (s) => s.name,
  kind: (s) => s.kind,
  service: (s) => s.service,
  startTimeUnixNano: (s) => s.startTimeUnixNano,
  endTimeUnixNano: (s) => s.endTimeUnixNano,
  statusCode: (s) => s.statusCode,
  statusMessage: (s) => s.statusMessage,
  attributes: (s) => s.attributes,
  resource: (s) => s.resource,
  events: (s) => s.events,
  source: (s) => s.source,
  origin: (s) => s.origin,
  observationPoint: (s) => s.observationPoint,
  protocol: (s) => s.protocol,
  requestType: (s) => s.requestType,
  requestDomain: (s) => s.requestDomain,
  requestResource: (s) => s.requestResource,
  endpoint: (s) => s.endpoint,
  requestId: (s) => s.requestId,
  responseStatus: (s) => s.responseStatus,
  responseCode: (s) => s.responseCode,
  responseException: (s) => s.responseException,
  ipVersion: (s) => s.ipVersion,
  clientIp: (s) => s.clientIp,
  serverIp: (s) => s.serverIp,
  clientPort: (s) => s.clientPort,
  serverPort: (s) => s.serverPort,
  transport: (s) => s.transport,
  reqTcpSeq: (s) => s.reqTcpSeq,
  respTcpSeq: (s) => s.respTcpSeq,
  hostId: (s) => s.hostId,
  processId: (s) => s.processId,
  processName: (s) => s.processName,
  threadIdReq: (s) => s.threadIdReq,
  threadIdResp: (s) => s.threadIdResp,
  interfaceName: (s) => s.interfaceName,
  xRequestIdReq: (s) => s.xRequestIdReq,
  xRequestIdResp: (s) => s.xRequestIdResp,
  syscallTraceIdReq: (s) => s.syscallTraceIdReq,
  syscallTraceIdResp: (s) => s.syscallTraceIdResp,
  warnings: (s) => s.warnings,
};

/** Column values of one record field, `null` for undefined (as the ApiSpan transposition gives). */
function fieldValues(nodes: readonly TraceNode[], key: string): unknown[] {
  const n = nodes.length;
  const out = new Array<unknown>(n);
  const read = (FIELD_READERS as Record<string, ((s: SpanRecord) => unknown) | undefined>)[key];
  if (read === undefined) {
    for (let i = 0; i < n; i++) out[i] = ((nodes[i] as TraceNode).span as unknown as Record<string, unknown>)[key] ?? null;
  } else {
    for (let i = 0; i < n; i++) out[i] = read((nodes[i] as TraceNode).span) ?? null;
  }
  return out;
}

/** ApiSpan keys that are the assembly's, read from the node as they are. */
const NODE_FIELDS = {
  id: (node: TraceNode) => node.id,
  parentId: (node: TraceNode) => node.parentId,
  linkReason: (node: TraceNode) => node.linkReason,
  confidence: (node: TraceNode) => node.confidence,
  possibleParents: (node: TraceNode) => node.possibleParents,
};

/** The nanosecond values of a node that ApiSpans carry as decimal text. */
const NANO_OF: Record<'startTimeUnixNano' | 'endTimeUnixNano' | 'durationNano' | 'clockOffsetNano', (node: TraceNode) => bigint> = {
  startTimeUnixNano: (node) => node.span.startTimeUnixNano,
  endTimeUnixNano: (node) => node.span.endTimeUnixNano,
  durationNano: (node) => durationNano(node.span),
  clockOffsetNano: (node) => node.clockOffsetNano,
};

/** `at(node) - base` for every node as exact Numbers, or null when one is past 2^53. */
function exactDiffs(nodes: readonly TraceNode[], at: (node: TraceNode) => bigint, base: bigint): number[] | null {
  const out = new Array<number>(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const d = Number(at(nodes[i] as TraceNode) - base);
    if (!Number.isSafeInteger(d)) return null;
    out[i] = d;
  }
  return out;
}

/**
 * The assembled trace as columns, the same answer as `toTraceColumns(toApiTrace(trace))`, built
 * from the nodes without an ApiSpan per span: each column's values are read straight from the
 * records (times as numbers after the base, no decimal text in between), then typed by the same
 * `columnOf`. For a 10k-span trace the ApiSpans (fifty keys each, four BigInt-to-text
 * conversions), their transposition and the text-to-number parse back were most of the encoding
 * time and of its garbage. The keys and their order are `toApiSpan`'s, so a field added there
 * arrives here too.
 */
export function traceColumnsOf(trace: AssembledTrace, truncated: boolean): TraceColumns {
  const nodes = trace.nodes;
  const n = nodes.length;
  const first = nodes[0];
  const keys = first === undefined ? [] : Object.keys(toApiSpan(first.span, first));
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) indexOf.set((nodes[i] as TraceNode).id, i);
  const nodeById = (id: string | null): TraceNode | undefined => (id === null ? undefined : nodes[indexOf.get(id) ?? -1]);
  // The earliest non-negative start, as earliestStart reads it from the decimal texts.
  let base: bigint | null = null;
  for (const node of nodes) {
    const v = node.span.startTimeUnixNano;
    if (v >= 0n && (base === null || v < base)) base = v;
  }
  const base0 = base ?? 0n;
  const table = stringTable();
  const columns: Record<string, TraceColumn> = {};
  const raw = new Map<string, unknown[]>();
  const text = (f: (node: TraceNode) => bigint): string[] => nodes.map((node) => f(node).toString());
  for (const key of keys) {
    let values: unknown[];
    const fromNode = (NODE_FIELDS as Record<string, ((node: TraceNode) => unknown) | undefined>)[key];
    switch (fromNode === undefined ? key : 'node') {
      case 'node':
        values = nodes.map(fromNode as (node: TraceNode) => unknown);
        break;
      case 'startTimeUnixNano':
      case 'endTimeUnixNano':
      case 'durationNano':
      case 'clockOffsetNano': {
        // Times after the base ('ns'), other nanosecond values as they are ('decimal'); decimal
        // text when one is past 2^53, as the ApiSpans' columns would be.
        const at = NANO_OF[key as keyof typeof NANO_OF];
        const isTime = NS_FIELDS.has(key);
        const d = exactDiffs(nodes, at, isTime ? base0 : 0n);
        if (d !== null) {
          columns[key] = isTime ? { type: 'ns', values: d } : { type: 'decimal', values: d };
          continue;
        }
        values = text(at);
        break;
      }
      case 'events':
        values = nodes.map((node) =>
          node.span.events.length === 0 ? NO_EVENTS : node.span.events.map((e) => ({ timeUnixNano: e.timeUnixNano.toString(), name: e.name, attributes: e.attributes })),
        );
        break;
      case 'hop':
        values = nodes.map((node) => (node.linkReason === 'tcp_seq' ? hopBetween(nodeById(node.parentId), node) : null));
        break;
      default:
        values = fieldValues(nodes, key);
    }
    if (DERIVED_FROM.has(key)) raw.set(key, values);
    columns[key] = columnOf(key, values, base0, table.index);
  }
  const parent = nodes.map((node) => (node.parentId === null ? -1 : (indexOf.get(node.parentId) ?? -1)));
  shorten(columns, parent, table.strings, (key) => raw.get(key));
  return answerOf(trace, truncated, base0, table.strings, parent, columns);
}

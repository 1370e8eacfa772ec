/**
 * @module The URL is the UI's state, so any view can be shared as a link:
 * - `/?service=…&lookback=1h&…` — a search (the form's fields);
 * - `/trace/{id}?span={nodeId}&from={ms}&to={ms}` — a trace, the selected span and the zoom
 *   (offsets from the trace's start, in milliseconds).
 * Pure functions: parse a location into a Route and back.
 */

export interface SearchQuery {
  service: string;
  operation: string;
  protocol: string;
  /** '' | app | sys | net */
  source: string;
  /** '' (any) | ok | error */
  status: string;
  minDuration: string;
  maxDuration: string;
  /** A lookback (`15m`, `1h`, `6h`, `24h`, `7d`), or `custom` for start/end. */
  lookback: string;
  /** Custom range, unix ms as decimal strings ('' when open). */
  start: string;
  end: string;
  limit: string;
}

export const SEARCH_FIELDS: readonly (keyof SearchQuery)[] = ['service', 'operation', 'protocol', 'source', 'status', 'minDuration', 'maxDuration', 'lookback', 'start', 'end', 'limit'];

export const DEFAULT_LOOKBACK = '1h';
export const LOOKBACKS: readonly [string, string][] = [
  ['15m', 'last 15 minutes'],
  ['1h', 'last hour'],
  ['6h', 'last 6 hours'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['all', 'any time'],
  ['custom', 'custom range'],
];
const LOOKBACK_MS: Record<string, number> = { '15m': 900_000, '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 604_800_000 };

export function emptySearch(): SearchQuery {
  return { service: '', operation: '', protocol: '', source: '', status: '', minDuration: '', maxDuration: '', lookback: DEFAULT_LOOKBACK, start: '', end: '', limit: '20' };
}

export interface TraceZoom {
  /** Milliseconds from the trace's start (fractions allowed). */
  fromMs: number;
  toMs: number;
}

export type Route =
  | { page: 'search'; query: SearchQuery; submitted: boolean }
  | { page: 'trace'; traceId: string; spanId: string | null; zoom: TraceZoom | null };

const TRACE_PATH = /^\/trace\/([^/]+)\/?$/;

function finite(s: string | null): number | null {
  if (s === null || s.trim() === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

export function parseRoute(pathname: string, search: string): Route {
  const params = new URLSearchParams(search);
  const m = TRACE_PATH.exec(pathname);
  if (m) {
    let traceId: string;
    try {
      traceId = decodeURIComponent(m[1] ?? '');
    } catch {
      traceId = m[1] ?? '';
    }
    const from = finite(params.get('from'));
    const to = finite(params.get('to'));
    const zoom = from !== null && to !== null && to > from ? { fromMs: from, toMs: to } : null;
    const span = params.get('span');
    return { page: 'trace', traceId, spanId: span !== null && span !== '' ? span : null, zoom };
  }
  const query = emptySearch();
  let submitted = false;
  for (const k of SEARCH_FIELDS) {
    const v = params.get(k);
    if (v !== null) {
      query[k] = v;
      submitted = true;
    }
  }
  return { page: 'search', query, submitted };
}

/** Six significant decimals of a millisecond are a nanosecond: enough, and short links. */
function msText(v: number): string {
  return String(Math.round(v * 1e6) / 1e6);
}

export function routeUrl(route: Route): string {
  if (route.page === 'trace') {
    const p = new URLSearchParams();
    if (route.spanId !== null) p.set('span', route.spanId);
    if (route.zoom !== null) {
      p.set('from', msText(route.zoom.fromMs));
      p.set('to', msText(route.zoom.toMs));
    }
    const qs = p.toString();
    return `/trace/${encodeURIComponent(route.traceId)}${qs ? `?${qs}` : ''}`;
  }
  const p = new URLSearchParams();
  const empty = emptySearch();
  for (const k of SEARCH_FIELDS) {
    if (route.query[k] !== '' && (route.submitted || route.query[k] !== empty[k])) p.set(k, route.query[k]);
  }
  const qs = p.toString();
  return qs ? `/?${qs}` : '/';
}

/** The search as `/api/v1/traces` parameters, with the lookback resolved against `nowMs`. */
export function searchParams(q: SearchQuery, nowMs: number): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of ['service', 'operation', 'protocol', 'source', 'status', 'minDuration', 'maxDuration', 'limit'] as const) {
    const v = q[k].trim();
    if (v !== '') p.set(k, v);
  }
  const ms = (s: string): bigint | null => (/^\d{1,15}$/.test(s.trim()) ? BigInt(s.trim()) * 1_000_000n : null);
  if (q.lookback === 'custom') {
    const start = ms(q.start);
    const end = ms(q.end);
    if (start !== null) p.set('start', start.toString());
    if (end !== null) p.set('end', end.toString());
  } else {
    const back = LOOKBACK_MS[q.lookback];
    if (back !== undefined) p.set('start', (BigInt(Math.floor(nowMs - back)) * 1_000_000n).toString());
  }
  return p;
}

/** A pasted id, as the server takes it: trimmed; a W3C traceparent gives its trace id. */
export function idFromPaste(text: string): string {
  const t = text.trim();
  const tp = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/i.exec(t);
  return tp ? (tp[1] ?? t).toLowerCase() : t;
}

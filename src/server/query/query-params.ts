/**
 * @module Query-string parsing shared by every query API: times, durations, limits, enums and
 * tag filters, each failing with a 400 that names the parameter, the rule and the value.
 *
 * Units differ by API and are fixed here, once: Weft v1 takes nanoseconds or RFC 3339, Jaeger's
 * internal API microseconds, api_v3 RFC 3339, Tempo unix seconds. Durations are Go durations
 * (`1.5s`, `100ms`, `1h30m`), as Jaeger and Tempo take them.
 */
import { OBSERVATION_POINTS, SPAN_KINDS } from '../../model/index.js';
import type { ObservationPoint, SpanKind, SpanSource } from '../../model/index.js';
import { MAX_QUERY_LIMIT } from '../store/index.js';
import type { SpanQuery } from '../store/index.js';
import { TAGGABLE_FIELDS } from '../store/span-query-match.js';
import { badParam } from './query-errors.js';

/** A parsed query string as Fastify hands it over (repeated keys become arrays). */
export type RawQuery = Record<string, string | string[] | undefined>;

export function asRawQuery(q: unknown): RawQuery {
  return typeof q === 'object' && q !== null ? (q as RawQuery) : {};
}

/** The first value of a parameter; '' counts as absent (forms send empty fields). */
export function one(q: RawQuery, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const v = q[name];
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s === 'string' && s !== '') return { name, value: s };
  }
  return undefined;
}

/** Every value of a repeated parameter, empty ones dropped. */
export function all(q: RawQuery, name: string): string[] {
  const v = q[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((s) => s !== '');
}

const NANOS_PER = { ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n } as const;
const GO_DURATION_RE = /^(?:(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const GO_DURATION_PART_RE = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
/** More than a year of nanoseconds is never a sensible duration filter; it also bounds BigInt work. */
const MAX_DURATION_NANO = 366n * 24n * NANOS_PER.h;
const DIGITS_RE = /^\d{1,19}$/;
/** 2^63 - 1: the largest int64, the widest time any of the wire formats carries. */
const MAX_INT64 = 9_223_372_036_854_775_807n;

function fractionToNanos(intPart: string, frac: string, unit: bigint): bigint {
  // Exact decimal arithmetic: at most 9 fractional digits matter below a nanosecond.
  const digits = frac.slice(0, 18).padEnd(18, '0');
  return BigInt(intPart || '0') * unit + (BigInt(digits) * unit) / 10n ** 18n;
}

/** A Go duration (`1.2s`, `100ms`, `1h30m`) → nanoseconds. `bareNanos` also takes plain digits as ns. */
export function parseDuration(name: string, value: string, options: { bareNanos?: boolean } = {}): bigint {
  const v = value.trim();
  if (options.bareNanos === true && DIGITS_RE.test(v)) return checkDuration(name, value, BigInt(v));
  if (v.length > 64 || !GO_DURATION_RE.test(v)) {
    throw badParam(name, value, `expected a duration such as 250ms, 1.5s or 1h30m (units ns, us, ms, s, m, h)${options.bareNanos === true ? ', or integer nanoseconds' : ''}`);
  }
  let total = 0n;
  for (const m of v.matchAll(GO_DURATION_PART_RE)) {
    const [intPart = '', frac = ''] = (m[1] ?? '').split('.');
    total += fractionToNanos(intPart, frac, NANOS_PER[m[2] as keyof typeof NANOS_PER]);
  }
  return checkDuration(name, value, total);
}

function checkDuration(name: string, value: string, ns: bigint): bigint {
  if (ns > MAX_DURATION_NANO) throw badParam(name, value, 'duration must be at most 366 days');
  return ns;
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 with up to nanosecond fractions (`2026-11-24T10:00:00.123456789Z`) → unix ns, or null. */
export function rfc3339ToUnixNano(value: string): bigint | null {
  const m = RFC3339_RE.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', tz = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null;
  const ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  if (!Number.isFinite(ms)) return null;
  let offsetMin = 0;
  if (tz !== 'Z' && tz !== 'z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  }
  const ns = BigInt(ms - offsetMin * 60_000) * 1_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  return ns < 0n ? null : ns;
}

export type TimeUnit = 'ns' | 'us' | 'ms' | 's';
const UNIT_NANOS: Record<TimeUnit, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n };

/**
 * A point in time → unix ns. Digits are read in `unit`; `rfc3339` also accepts RFC 3339 text.
 */
export function parseTime(name: string, value: string, unit: TimeUnit, options: { rfc3339?: boolean } = {}): bigint {
  const v = value.trim();
  if (DIGITS_RE.test(v)) {
    const ns = BigInt(v) * UNIT_NANOS[unit];
    if (ns > MAX_INT64) throw badParam(name, value, 'time is out of range');
    return ns;
  }
  if (options.rfc3339 === true) {
    const ns = rfc3339ToUnixNano(v);
    // Stores keep int64 nanoseconds: 2262-04-11T23:47:16.854775807Z is the last instant they hold.
    if (ns !== null && ns > MAX_INT64) throw badParam(name, value, 'time is out of range: RFC 3339 times must be at most 2262-04-11T23:47:16.854775807Z (int64 nanoseconds)');
    if (ns !== null) return ns;
  }
  const what = { ns: 'nanoseconds', us: 'microseconds', ms: 'milliseconds', s: 'seconds' }[unit];
  throw badParam(name, value, `expected unix time in ${what}${options.rfc3339 === true ? ' or an RFC 3339 timestamp (2026-11-24T10:00:00Z)' : ''}`);
}

/** A positive integer limit, at most `max` (400 beyond it). */
export function parseLimit(name: string, value: string | undefined, fallback: number, max: number = MAX_QUERY_LIMIT): number {
  if (value === undefined) return fallback;
  const v = value.trim();
  // Out of range is an error, not a silent clamp: a client asking for more than it gets would
  // take a cut answer for the whole one.
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1 || Number(v) > max) throw badParam(name, value, `expected an integer from 1 to ${max}`);
  return Number(v);
}

export function parseSource(name: string, value: string): SpanSource {
  if (value === 'app' || value === 'sys' || value === 'net') return value;
  throw badParam(name, value, "expected one of 'app', 'sys', 'net'");
}

export function parseObservationPoint(name: string, value: string): ObservationPoint {
  const hit = OBSERVATION_POINTS.find((p) => p === value);
  if (hit) return hit;
  throw badParam(name, value, `expected one of ${OBSERVATION_POINTS.map((p) => `'${p}'`).join(', ')}`);
}

/** A span kind by OTel name; also the OTLP enum names (`SPAN_KIND_SERVER`) and integers. */
export function parseSpanKind(name: string, value: string): SpanKind {
  const v = value.trim().toLowerCase().replace(/^span_kind_/, '');
  const byIndex = /^\d$/.test(v) ? SPAN_KINDS[Number(v)] : undefined;
  const hit = byIndex ?? SPAN_KINDS.find((k) => k === v);
  if (hit) return hit;
  throw badParam(name, value, `expected a span kind: ${SPAN_KINDS.join(', ')}`);
}

/**
 * Tag keys that mean a SpanRecord field rather than an attribute. The receivers move these
 * semantic-convention keys into fields (src/apm/semconv.ts), so a search by them must look
 * at the field. `weft.<snake_case>` names every field too (the keys the APIs emit).
 */
const TAG_FIELD_ALIASES: Record<string, string> = {
  'http.method': 'requestType',
  'http.request.method': 'requestType',
  'http.status_code': 'responseCode',
  'http.response.status_code': 'responseCode',
  'http.target': 'requestResource',
  'url.path': 'requestResource',
  'db.statement': 'requestResource',
  'db.query.text': 'requestResource',
  'db.operation': 'requestType',
  'db.operation.name': 'requestType',
  'db.system': 'protocol',
  'db.system.name': 'protocol',
  'service.name': 'service',
  'span.kind': 'kind',
  'otel.status_code': 'statusCode',
};

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Adds one `key=value` tag filter to a query: `error=true` means errors only, known aliases
 * and `weft.*` keys filter their field, anything else an attribute.
 */
export function addTagFilter(q: SpanQuery, key: string, value: string): void {
  if (key === 'error' && (value === 'true' || value === 'false')) {
    if (value === 'true') q.errorsOnly = true;
    return;
  }
  let target = TAG_FIELD_ALIASES[key] ?? key;
  if (key.startsWith('weft.')) {
    const field = snakeToCamel(key.slice('weft.'.length));
    if (TAGGABLE_FIELDS.has(field)) target = field;
  }
  if (target === 'statusCode' || target === 'kind') value = value.toLowerCase().replace(/^(status_code_|span_kind_)/, '');
  q.tags = { ...(q.tags ?? {}), [target]: value };
}

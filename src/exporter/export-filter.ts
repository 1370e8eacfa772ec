/**
 * @module The `--export-filter` expression: which spans the OTLP exporter sends.
 *
 * Syntax: clauses joined by `;` (AND), each `key=v1,v2` (the span's field is one of the values)
 * or `key!=v1,v2` (none of them). Examples: `source=sys,net`, `protocol!=dns`,
 * `source=sys;observationPoint=c-p,s-p`. A bare list without an operator (`sys,net`) means
 * `source=…`, the older form the config accepted. Keys are SpanRecord fields; enum-valued keys
 * check their values, so a typo fails at startup with the bad part named instead of silently
 * exporting nothing. The default exports SYS and NET spans: APP spans already live in an APM.
 */
import { OBSERVATION_POINTS, RESPONSE_STATUSES, SPAN_KINDS } from '../model/index.js';
import type { SpanRecord } from '../model/index.js';

export const DEFAULT_EXPORT_FILTER = 'source=sys,net';

const ENUMS = {
  source: ['app', 'sys', 'net'],
  origin: ['otlp', 'skywalking', 'zipkin', 'apm-api', 'ebpf', 'packet', 'pcap'],
  observationPoint: OBSERVATION_POINTS,
  kind: SPAN_KINDS,
  responseStatus: RESPONSE_STATUSES,
} as const satisfies Partial<Record<keyof SpanRecord, readonly string[]>>;

/** Free-text keys: compared exactly (protocol is lowercase in SpanRecord, so it is lowercased). */
const FREE_KEYS = ['protocol', 'service', 'requestType', 'requestDomain', 'hostId', 'processName', 'endpoint'] as const;

export type ExportFilterKey = keyof typeof ENUMS | (typeof FREE_KEYS)[number];
export const EXPORT_FILTER_KEYS: readonly ExportFilterKey[] = [...(Object.keys(ENUMS) as (keyof typeof ENUMS)[]), ...FREE_KEYS];

export interface ExportFilterClause {
  key: ExportFilterKey;
  /** true for `!=` */
  negate: boolean;
  values: string[];
}

/** A parsed filter: every clause must hold. An empty clause list matches every span. */
export interface ExportFilter {
  clauses: ExportFilterClause[];
}

export type ExportFilterParse = { ok: true; filter: ExportFilter } | { ok: false; error: string };

const KEY_ALIASES: Record<string, ExportFilterKey> = {
  observation_point: 'observationPoint',
  op: 'observationPoint',
  response_status: 'responseStatus',
  request_type: 'requestType',
  request_domain: 'requestDomain',
  host_id: 'hostId',
  process_name: 'processName',
};

function resolveKey(raw: string): ExportFilterKey | undefined {
  if ((EXPORT_FILTER_KEYS as readonly string[]).includes(raw)) return raw as ExportFilterKey;
  return KEY_ALIASES[raw] ?? KEY_ALIASES[raw.toLowerCase()] ?? EXPORT_FILTER_KEYS.find((k) => k.toLowerCase() === raw.toLowerCase());
}

function normalizeValue(key: ExportFilterKey, v: string): string {
  return key in ENUMS || key === 'protocol' ? v.toLowerCase() : v;
}

/** Parses a filter expression; the error names the bad part and what was expected. */
export function parseExportFilter(text: string): ExportFilterParse {
  const parts = text.split(';').map((p) => p.trim());
  if (parts.every((p) => p === '')) return { ok: false, error: `export filter is empty (example: ${DEFAULT_EXPORT_FILTER})` };
  const clauses: ExportFilterClause[] = [];
  for (const [i, part] of parts.entries()) {
    const where = `export filter part ${i + 1} (${JSON.stringify(part)})`;
    if (part === '') return { ok: false, error: `${where}: empty clause between ';'` };
    const m = /^([^=!]*?)\s*(!=|=)\s*(.*)$/.exec(part);
    const rawKey = m ? (m[1] ?? '').trim() : 'source';
    const negate = m?.[2] === '!=';
    const rawValues = m ? (m[3] ?? '') : part;
    if (m && rawKey === '') return { ok: false, error: `${where}: missing key before '${m[2] ?? '='}'` };
    const key = resolveKey(rawKey);
    if (!key) return { ok: false, error: `${where}: unknown key ${JSON.stringify(rawKey)}; keys are ${EXPORT_FILTER_KEYS.join(', ')}` };
    const values = rawValues.split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) return { ok: false, error: `${where}: empty value in ${JSON.stringify(rawValues)}` };
    const normalized = values.map((v) => normalizeValue(key, v));
    if (key in ENUMS) {
      const allowed = ENUMS[key as keyof typeof ENUMS] as readonly string[];
      const bad = normalized.find((v) => !allowed.includes(v));
      if (bad !== undefined) return { ok: false, error: `${where}: ${JSON.stringify(bad)} is not a ${key}; one of ${allowed.join(', ')}` };
    }
    clauses.push({ key, negate, values: [...new Set(normalized)] });
  }
  return { ok: true, filter: { clauses } };
}

/** The canonical text of a filter (parses back to an equal filter). */
export function formatExportFilter(filter: ExportFilter): string {
  return filter.clauses.map((c) => `${c.key}${c.negate ? '!=' : '='}${c.values.join(',')}`).join(';');
}

export function matchesExportFilter(filter: ExportFilter, span: SpanRecord): boolean {
  for (const c of filter.clauses) {
    const value = normalizeValue(c.key, String(span[c.key]));
    if (c.values.includes(value) === c.negate) return false;
  }
  return true;
}

/** The default filter, parsed. */
export function defaultExportFilter(): ExportFilter {
  const r = parseExportFilter(DEFAULT_EXPORT_FILTER);
  if (!r.ok) throw new Error(r.error);
  return r.filter;
}

/**
 * @module A small TraceQL subset for Tempo's `/api/search?q=` and logfmt `tags=`, translated
 * into one SpanQuery.
 *
 * Supported: one spanset `{ cond && cond … }` (or `{}`), where cond is
 * - `resource.service.name = "x"`,
 * - an attribute equality: `span.http.status_code = 500`, `.db.system = "redis"`,
 *   `resource.host.name = "h"`,
 * - intrinsics `name = "x"`, `status = error|ok|unset`, `kind = server|client|…`,
 *   `duration > 10ms` (also >=, <, <=, =), in both `name` and `span:name` spellings.
 * Anything else (`||`, `!=`, regexes, pipelines, several spansets) is answered with a 400 that
 * says what is not supported, never with a silently wrong result.
 */
import type { SpanQuery } from '../store/index.js';
import { badParam, unsupportedQuery } from './query-errors.js';
import { addTagFilter, parseDuration, parseSpanKind } from './query-params.js';

type Token =
  | { t: 'punct'; v: '{' | '}' | '&&' | '=' | '>' | '>=' | '<' | '<=' }
  | { t: 'other'; v: string }
  | { t: 'string'; v: string }
  | { t: 'word'; v: string };

const WORD_RE = /[A-Za-z0-9_.:\-/µμ]/;
const MAX_QUERY_CHARS = 4096;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '&&' || two === '>=' || two === '<=') {
      out.push({ t: 'punct', v: two });
      i += 2;
    } else if (['||', '!=', '=~', '!~', '>>', '<<', '!>', '~>'].includes(two)) {
      out.push({ t: 'other', v: two });
      i += 2;
    } else if (c === '{' || c === '}' || c === '=' || c === '>' || c === '<') {
      out.push({ t: 'punct', v: c });
      i++;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && c === '"' && j + 1 < src.length) j++;
        s += src[j];
        j++;
      }
      if (j >= src.length) throw unsupportedQuery(`TraceQL: unterminated string starting at offset ${i}`);
      out.push({ t: 'string', v: s });
      i = j + 1;
    } else if (WORD_RE.test(c)) {
      let j = i;
      while (j < src.length && WORD_RE.test(src[j] ?? '')) j++;
      out.push({ t: 'word', v: src.slice(i, j) });
      i = j;
    } else {
      out.push({ t: 'other', v: c });
      i++;
    }
  }
  return out;
}

const INTRINSICS = new Set(['name', 'status', 'kind', 'duration', 'statusMessage']);

function intrinsicOf(lhs: string): string | undefined {
  const bare = lhs.startsWith('span:') ? lhs.slice('span:'.length) : lhs;
  return INTRINSICS.has(bare) ? bare : undefined;
}

function applyCondition(q: SpanQuery, lhs: string, op: string, value: Token): void {
  const v = value.v;
  const intrinsic = intrinsicOf(lhs);
  if (intrinsic === 'duration') {
    const ns = parseDuration('q', v);
    // The store bounds are inclusive; strict comparisons move them by one nanosecond.
    if (op === '>' || op === '>=') q.minDurationNano = op === '>' ? ns + 1n : ns;
    else if (op === '<' || op === '<=') q.maxDurationNano = op === '<' ? (ns > 0n ? ns - 1n : 0n) : ns;
    else {
      q.minDurationNano = ns;
      q.maxDurationNano = ns;
    }
    return;
  }
  if (op !== '=') throw unsupportedQuery(`TraceQL: '${op}' is only supported on duration; use '=' for ${lhs}`);
  if (intrinsic === 'name') q.operation = v;
  else if (intrinsic === 'status') {
    if (v === 'error') q.errorsOnly = true;
    else if (v === 'ok' || v === 'unset') addTagFilter(q, 'statusCode', v);
    else throw unsupportedQuery(`TraceQL: status must be error, ok or unset (got ${JSON.stringify(v)})`);
  } else if (intrinsic === 'kind') q.kind = parseSpanKind('q', v);
  else if (intrinsic === 'statusMessage') addTagFilter(q, 'statusMessage', v);
  else if (lhs === 'resource.service.name' || lhs === '.service.name') q.service = v;
  else if (lhs.startsWith('span.') || lhs.startsWith('resource.')) addTagFilter(q, lhs.slice(lhs.indexOf('.') + 1), v);
  else if (lhs.startsWith('.') && lhs.length > 1) addTagFilter(q, lhs.slice(1), v);
  else throw unsupportedQuery(`TraceQL: unknown attribute or intrinsic ${JSON.stringify(lhs)}; use name, status, kind, duration, resource.<attr>, span.<attr> or .<attr>`);
}

/** Adds the conditions of a TraceQL query to `q`. Throws a 400 TracingError for what is not supported. */
export function applyTraceQl(q: SpanQuery, src: string): void {
  if (src.length > MAX_QUERY_CHARS) throw badParam('q', src, `query longer than ${MAX_QUERY_CHARS} characters`);
  const toks = tokenize(src);
  let i = 0;
  const next = (): Token | undefined => toks[i++];
  const expect = (v: string): void => {
    const t = next();
    if (t?.t !== 'punct' || t.v !== v) throw unsupportedQuery(`TraceQL: expected '${v}' ${t ? `but found ${JSON.stringify(t.v)}` : 'at the end'} (supported: one spanset { a = "x" && b > 1s })`);
  };
  expect('{');
  if (toks[i]?.t === 'punct' && toks[i]?.v === '}') {
    i++;
  } else {
    for (;;) {
      const lhs = next();
      if (lhs?.t !== 'word') throw unsupportedQuery(`TraceQL: expected an attribute or intrinsic ${lhs ? `but found ${JSON.stringify(lhs.v)}` : 'at the end'}`);
      const op = next();
      if (op?.t === 'other') throw unsupportedQuery(`TraceQL: operator '${op.v}' is not supported; supported are =, and >, >=, <, <= on duration`);
      if (op?.t !== 'punct' || !['=', '>', '>=', '<', '<='].includes(op.v)) throw unsupportedQuery(`TraceQL: expected an operator after ${lhs.v}`);
      const value = next();
      if (value?.t !== 'word' && value?.t !== 'string') throw unsupportedQuery(`TraceQL: expected a value after ${lhs.v} ${op.v}`);
      applyCondition(q, lhs.v, op.v, value);
      const sep = next();
      if (sep?.t === 'punct' && sep.v === '}') break;
      if (sep?.t === 'other' && sep.v === '||') throw unsupportedQuery("TraceQL: '||' is not supported; only conditions joined by && in one spanset");
      if (sep?.t !== 'punct' || sep.v !== '&&') throw unsupportedQuery(`TraceQL: expected && or } ${sep ? `but found ${JSON.stringify(sep.v)}` : 'at the end'}`);
    }
  }
  if (i < toks.length) throw unsupportedQuery('TraceQL: only one spanset is supported (no pipelines, spanset operators or aggregates after the closing })');
}

const LOGFMT_RE = /\s*([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/y;

/** Tempo's `tags=` logfmt (`service.name=api http.status_code=500 name="GET /"`) into `q`. */
export function applyLogfmtTags(q: SpanQuery, src: string): void {
  if (src.length > MAX_QUERY_CHARS) throw badParam('tags', src, `longer than ${MAX_QUERY_CHARS} characters`);
  LOGFMT_RE.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    LOGFMT_RE.lastIndex = pos;
    const m = LOGFMT_RE.exec(src);
    if (!m) throw badParam('tags', src, 'expected logfmt key=value pairs, e.g. service.name=api http.status_code=500');
    pos = LOGFMT_RE.lastIndex;
    const key = m[1] ?? '';
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (key === 'service.name') q.service = value;
    else if (key === 'name') q.operation = value;
    else if (key === 'status' || key === 'status.code') {
      if (value === 'error') q.errorsOnly = true;
      else addTagFilter(q, 'statusCode', value);
    } else addTagFilter(q, key, value);
  }
}

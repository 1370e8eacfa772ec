/**
 * @module Why a span hangs where it does, in words: the link reason and its evidence
 * ("under nginx's client call because the same bytes (tcp seq 1234) were read here"), the
 * confidence as a word, clock corrections, and the same message at its other observation points.
 * Pure functions over the API's span shape; the details panel only lays them out.
 */
import type { ApiSpan } from '../api/types.js';
import { formatOffset } from '../format.js';
import { spanOwner } from './trace-model.js';
import type { TraceModel } from './trace-model.js';

const ROLE: Record<string, string> = {
  'c-app': 'client span',
  's-app': 'server span',
  app: 'span',
  'c-p': 'client call',
  's-p': 'server side',
  c: 'client-side network hop',
  s: 'server-side network hop',
  'c-nd': 'client node hop',
  's-nd': 'server node hop',
  'c-gw': 'gateway hop (client side)',
  's-gw': 'gateway hop (server side)',
  local: 'local network hop',
  rest: 'network hop',
};

/** "nginx's client call (SYS c-p, GET /checkout)". */
export function describeSpanRole(s: ApiSpan): string {
  const role = ROLE[s.observationPoint] ?? `${s.observationPoint} span`;
  const name = s.name ? `, ${s.name}` : '';
  const where = `(${s.source.toUpperCase()} ${s.observationPoint}${name})`;
  // A packet capture belongs to no service: name the interface instead.
  if (s.source === 'net' && !s.service) return `the ${role}${s.interfaceName ? ` on ${s.interfaceName}` : ''} ${where}`;
  return `${spanOwner(s)}'s ${role} ${where}`;
}

/** What happened to the message's bytes at this span's observation point. */
function bytesVerb(s: ApiSpan, direction: 'request' | 'response'): string {
  const op = s.observationPoint;
  if (s.source === 'net') return `crossed ${s.interfaceName ? `interface ${s.interfaceName}` : 'the network'} here`;
  const serverSide = op === 's-p' || op === 's-app';
  const reads = direction === 'request' ? serverSide : !serverSide;
  return reads ? 'were read here' : 'were written here';
}

/** The link reason and its evidence as one sentence. */
export function explainLink(s: ApiSpan, parent: ApiSpan | null): string {
  if (parent === null || s.linkReason === null) {
    if (s.parentSpanId) return `A root here: its parent span ${s.parentSpanId} is not in this trace (not captured, or not stored yet).`;
    return 'A root: nothing in the trace sent this request.';
  }
  const who = describeSpanRole(parent);
  // A plain string: a newer server may send reasons this build does not know (default below).
  const reason: string = s.linkReason;
  switch (reason) {
    case 'tcp_seq': {
      const shared: [number, 'request' | 'response'][] = [
        [s.reqTcpSeq, 'request'],
        [s.respTcpSeq, 'response'],
      ];
      const hit = shared.find(([seq]) => seq !== 0 && (seq === parent.reqTcpSeq || seq === parent.respTcpSeq));
      if (hit) return `Under ${who} because the same bytes (tcp seq ${hit[0]}) ${bytesVerb(s, hit[1])}: one ${hit[1]} seen at two points.`;
      return `Under ${who} because both saw the same TCP bytes (the same message at two observation points).`;
    }
    case 'syscall': {
      const id = s.syscallTraceIdReq || s.syscallTraceIdResp;
      const thread = s.threadIdReq ? ` (thread ${s.threadIdReq})` : '';
      return `Under ${who} because this call was made on the thread${thread} that read that request: syscall trace id ${id}.`;
    }
    case 'span_id': {
      if (s.parentSpanId && s.parentSpanId === parent.parentSpanId && s.parentSpanId !== parent.spanId) {
        return `Under ${who} because the request this process received carried the same parent span id (${s.parentSpanId}) that this span names.`;
      }
      if (s.source === 'app') return `Under ${who} because its parent span id (${s.parentSpanId}) is that span's id.`;
      return `Under ${who} because the request carried that span's id (${s.parentSpanId}) in its trace header.`;
    }
    case 'runtime':
      return `Under ${who} because the process's own runtime (the Node.js hook) reported that this call serves that request.`;
    case 'x_request_id': {
      const id = s.xRequestIdReq || s.xRequestIdResp;
      return `Under ${who} because both carry the same X-Request-ID (${id}).`;
    }
    case 'trace_id':
      return `Under ${who} only because both have trace id ${s.traceId || parent.traceId} and this span falls inside it in time (a weak link).`;
    case 'process':
      return `Under ${who} only because it ran in the same process${s.processId ? ` (pid ${s.processId})` : ''} while that request was open (a weak link: time only).`;
  }
  return `Under ${who} (link reason: ${reason}).`;
}

/** A confidence value in words (1 = explicit ids or the same bytes). */
export function confidenceWords(c: number | null): string {
  if (c === null) return '';
  const n = c.toFixed(2);
  if (c >= 1) return `certain (${n}): explicit ids or the same bytes`;
  if (c >= 0.9) return `very likely (${n})`;
  if (c >= 0.75) return `likely (${n})`;
  if (c >= 0.5) return `plausible (${n})`;
  return `a weak guess (${n})`;
}

/** Set when assembly moved the span to correct a clock difference between hosts. */
export function clockNote(s: ApiSpan): string | null {
  let off: number;
  try {
    off = Number(BigInt(s.clockOffsetNano));
  } catch {
    return null;
  }
  if (off === 0) return null;
  const host = s.hostId ? `host ${s.hostId}` : 'its host';
  return `Clock corrected: shown ${formatOffset(off)} from where ${host} recorded it, so it fits inside its parent.`;
}

const OP_ORDER = ['c-app', 'c-p', 'c', 'c-nd', 'c-gw', 's-gw', 's-nd', 's', 's-p', 's-app', 'app', 'local', 'rest'];

/**
 * The same message at other observation points: spans sharing a request or response tcp seq,
 * or (for header-carrying SYS/NET spans and APP spans) the same trace and span id. In path
 * order: client app, client process, NICs, server process, server app.
 */
export function sameMessage(model: TraceModel, i: number): number[] {
  if (i < 0 || i >= model.count) return [];
  const s = model.span(i);
  const seqs = new Set([s.reqTcpSeq, s.respTcpSeq].filter((x) => x !== 0));
  const reqSeq = model.num('reqTcpSeq');
  const respSeq = model.num('respTcpSeq');
  const op = model.text('observationPoint');
  const spanId = model.text('spanId');
  const traceId = model.text('traceId');
  const out: number[] = [];
  for (let j = 0; j < model.count; j++) {
    if (j === i) continue;
    const bySeq = seqs.size > 0 && (seqs.has(reqSeq(j)) || seqs.has(respSeq(j))) && op(j) !== s.observationPoint;
    const byId = s.spanId !== '' && spanId(j) === s.spanId && traceId(j) === s.traceId && model.source[j] !== model.source[i];
    if (bySeq || byId) out.push(j);
  }
  const rank = (j: number): number => {
    const r = OP_ORDER.indexOf(op(j));
    return r < 0 ? OP_ORDER.length : r;
  };
  return out.sort((a, b) => rank(a) - rank(b) || (model.start[a] as number) - (model.start[b] as number));
}

/** The correlation keys a span carries, non-empty ones only, in a fixed order. */
export function correlationKeys(s: ApiSpan): [string, string][] {
  const keys: [string, string | number][] = [
    ['traceId', s.traceId],
    ['spanId', s.spanId],
    ['parentSpanId', s.parentSpanId],
    ['reqTcpSeq', s.reqTcpSeq],
    ['respTcpSeq', s.respTcpSeq],
    ['syscallTraceIdReq', s.syscallTraceIdReq],
    ['syscallTraceIdResp', s.syscallTraceIdResp],
    ['xRequestIdReq', s.xRequestIdReq],
    ['xRequestIdResp', s.xRequestIdResp],
    ['threadIdReq', s.threadIdReq],
    ['threadIdResp', s.threadIdResp],
  ];
  return keys.filter(([, v]) => v !== '' && v !== 0).map(([k, v]) => [k, String(v)]);
}

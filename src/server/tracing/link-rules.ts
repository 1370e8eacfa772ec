/**
 * @module The predicates assembly's link rules share: tolerances, L7 conflicts, hot keys.
 */
import { NAT_ORIGINAL_ATTR, NAT_TRANSLATED_ATTR, netTupleKey, type ObservationPoint, type SpanRecord } from '../../model/index.js';
import type { LinkKeyType } from '../store/store.js';

export interface Tolerances {
  /** Allowed time difference between two observation points of one message on one host. */
  networkDelayNano: bigint;
  /** Extra allowance across hosts (their clocks disagree); also widens the prune window. */
  hostClockOffsetNano: bigint;
}

export const DEFAULT_TOLERANCES: Tolerances = {
  networkDelayNano: 50_000_000n,
  hostClockOffsetNano: 10_000_000n,
};

/**
 * Tap-side rank along a message's path (DeepFlow's order; c-p first, s-p last). `local` (two
 * workloads of one node, seen on its bridge) and `rest` (a node the flow only crosses) sit
 * between the client's side and the server's, where the frames are seen, not after s-p.
 */
const OP_RANK: Record<ObservationPoint, number> = {
  'c-app': 0,
  's-app': 0,
  app: 0,
  'c-p': 1,
  c: 2,
  'c-nd': 3,
  'c-gw': 6,
  's-gw': 7,
  's-nd': 10,
  s: 11,
  's-p': 12,
  local: 6.5,
  rest: 6.5,
};

export function opRank(op: ObservationPoint): number {
  return OP_RANK[op];
}

/**
 * The place a span holds in one message's chain, which holds each place once (two c-p are two
 * messages). A NET span's place is its point at one interface of one host: a message crosses a
 * node's bridge, tunnel and uplink, and two nodes' uplinks, each at c-nd or s-nd.
 */
export function chainSlot(s: SpanRecord): string {
  return s.source === 'net' ? `${s.observationPoint}@${s.hostId}/${s.interfaceName}` : s.observationPoint;
}

/**
 * Two spans with one tcp seq are one message only if their tuples are NAT-consistent: equal; or
 * one end the same (the shape of a DNAT, which keeps the client's end, or of an SNAT, which keeps
 * the server's); or, both ends changed, related by a translation a NET span recorded (the agent
 * of the translating node puts the original and the translated tuple on the spans of that flow).
 * A seq is 32 bits: across unrelated flows it matches by chance, so it never links alone.
 * Spans without a tuple are not judged here.
 */
export function tuplesConsistent(a: SpanRecord, b: SpanRecord): boolean {
  // Without both ends a span has no tuple; with one end written the same the ends are equal
  // once normalised too: both answer true below, without building four strings per pair.
  if (!a.clientIp || !a.serverIp || !b.clientIp || !b.serverIp) return true;
  if ((a.clientIp === b.clientIp && a.clientPort === b.clientPort) || (a.serverIp === b.serverIp && a.serverPort === b.serverPort)) return true;
  const ta = netTupleKey(a.clientIp, a.clientPort, a.serverIp, a.serverPort);
  const tb = netTupleKey(b.clientIp, b.clientPort, b.serverIp, b.serverPort);
  if (ta === '' || tb === '' || ta === tb) return true;
  const [ca, sa] = ta.split('>');
  const [cb, sb] = tb.split('>');
  if (ca === cb || sa === sb) return true;
  const knows = (s: SpanRecord, t: string): boolean => s.attributes[NAT_ORIGINAL_ATTR] === t || s.attributes[NAT_TRANSLATED_ATTR] === t;
  return knows(a, tb) || knows(b, ta);
}

export function isServerSide(op: ObservationPoint): boolean {
  return op === 's-p' || op === 's' || op === 's-nd' || op === 's-gw' || op === 's-app';
}

export function isClientSide(op: ObservationPoint): boolean {
  return op === 'c-p' || op === 'c' || op === 'c-nd' || op === 'c-gw' || op === 'c-app';
}

export function toleranceBetween(a: SpanRecord, b: SpanRecord, t: Tolerances): bigint {
  return a.hostId !== '' && a.hostId === b.hostId ? t.networkDelayNano : t.networkDelayNano + t.hostClockOffsetNano;
}

export function absDiff(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}

/** `outer` covers `inner` in time, allowing `tol` at both ends; a missing response is allowed. */
export function covers(outer: SpanRecord, inner: SpanRecord, tol: bigint): boolean {
  if (inner.startTimeUnixNano + tol < outer.startTimeUnixNano) return false;
  if (outer.endTimeUnixNano <= outer.startTimeUnixNano) return true;
  return inner.endTimeUnixNano <= outer.endTimeUnixNano + tol;
}

function sameProtocol(a: string, b: string): boolean {
  const norm = (p: string): string => (p === 'grpc' ? 'http2' : p);
  return norm(a) === norm(b);
}

/**
 * True when two records cannot be the same message: both carry a value for an L7 field and the
 * values differ. Trace ids conflict too (a wrapped tcp seq joining two traces).
 */
export function l7Conflict(a: SpanRecord, b: SpanRecord): boolean {
  if (a.traceId && b.traceId && a.traceId !== b.traceId) return true;
  if (a.protocol && b.protocol && !sameProtocol(a.protocol, b.protocol)) return true;
  if (a.requestType && b.requestType && a.requestType !== b.requestType) return true;
  if (a.requestResource && b.requestResource && a.requestResource.slice(0, 1024) !== b.requestResource.slice(0, 1024)) return true;
  if (a.responseCode !== null && b.responseCode !== null && a.responseCode !== b.responseCode) return true;
  if (a.requestId !== null && b.requestId !== null && a.requestId !== b.requestId) return true;
  if (a.xRequestIdReq && b.xRequestIdReq && a.xRequestIdReq !== b.xRequestIdReq) return true;
  if (a.xRequestIdResp && b.xRequestIdResp && a.xRequestIdResp !== b.xRequestIdResp) return true;
  return false;
}

/** A set of link keys that must not be used to link (they matched too many spans). */
export type HotKeys = ReadonlySet<string>;

export function hotKeyId(type: LinkKeyType, value: string | number): string {
  return `${type}\u0000${String(value)}`;
}

export function isHot(hot: HotKeys, type: LinkKeyType, value: string | number): boolean {
  return hot.size > 0 && hot.has(hotKeyId(type, value));
}

/** The process id an APP span names (resource process.pid), 0 when none. */
export function appProcessId(s: SpanRecord): number {
  if (s.processId) return s.processId;
  const pid = s.resource['process.pid'];
  return typeof pid === 'number' ? pid : typeof pid === 'string' && /^\d+$/.test(pid) ? Number(pid) : 0;
}

/** The host an APP span names (hostId, else resource host.id / host.name), '' when none. */
export function appHost(s: SpanRecord): string {
  if (s.hostId) return s.hostId;
  for (const k of ['host.id', 'host.name']) {
    const v = s.resource[k];
    if (typeof v === 'string' && v) return v;
  }
  return '';
}

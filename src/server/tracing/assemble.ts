/**
 * @module Trace assembly: a pure function from a set of spans to one tree.
 *
 * A fixed sequence of small steps (like Jaeger's adjusters), each documented in
 * docs/assembly.md in the same order:
 *   1. sort canonically and drop exact duplicates (so input order never matters);
 *   2. merge request-only and response-only halves of one message;
 *   3. chain each message across observation points by tcp seq (c-p → c → … → s → s-p);
 *   4–10. link rules in priority order (span ids, syscall ids, X-Request-ID, process/time);
 *   11. correct clock offsets between hosts;
 *   12. prune trees that do not belong;
 *   13. order pre-order, siblings by start time.
 * A link is only ever added when the child has no parent yet and it closes no cycle, so the
 * result is a forest with every span once.
 */
import type { SpanRecord } from '../../model/index.js';
import { linkKeysOf } from '../store/store.js';
import { correctClocks } from './clock-offsets.js';
import {
  DEFAULT_TOLERANCES,
  absDiff,
  appHost,
  appProcessId,
  covers,
  hotKeyId,
  isClientSide,
  isHot,
  isServerSide,
  l7Conflict,
  opRank,
  toleranceBetween,
} from './link-rules.js';
import type { HotKeys, Tolerances } from './link-rules.js';
import { mergeHalves } from './merge-halves.js';
import { sortAndDedupe } from './span-identity.js';
import type { AssembledTrace, LinkReason, TraceNode } from './trace.js';

export interface AssembleOptions {
  /** The trace id to name the result after; defaults to the first trace id found. */
  traceId?: string;
  /** The span the trace was asked for by (a SYS/NET span id); its tree is never pruned. */
  seedSpanId?: string;
  /** Time tolerances; defaults 50 ms within a host, +10 ms across hosts. */
  tolerances?: Partial<Tolerances>;
  /**
   * Link keys (`hotKeyId(type, value)`) that matched too many spans in the walk; no rule
   * links through them.
   */
  hotKeys?: HotKeys;
}

/** Confidence per rule: 1 for explicit ids, lower where the link is inferred. */
export const CONFIDENCE = {
  spanId: 1,
  tcpSeq: 1,
  syscallDirect: 0.9,
  syscallChained: 0.8,
  xRequestIdSameSide: 0.8,
  xRequestIdCrossSide: 0.7,
  traceIdTime: 0.5,
  processTime: 0.4,
} as const;

interface Links {
  parent: (number | null)[];
  reason: (LinkReason | null)[];
  confidence: (number | null)[];
}

function wouldCycle(links: Links, child: number, parent: number): boolean {
  for (let a: number | null = parent; a !== null; a = links.parent[a] ?? null) {
    if (a === child) return true;
  }
  return false;
}

function link(links: Links, child: number, parent: number, reason: LinkReason, confidence: number): boolean {
  if (child === parent || links.parent[child] !== null || wouldCycle(links, child, parent)) return false;
  links.parent[child] = parent;
  links.reason[child] = reason;
  links.confidence[child] = confidence;
  return true;
}

/** Picks the best candidate by score (higher first), then latest start, then lowest index. */
function pickBest(spans: readonly SpanRecord[], cands: readonly number[], score: (i: number) => number): number | undefined {
  let best: number | undefined;
  let bestScore = -Infinity;
  for (const c of cands) {
    const sc = score(c);
    if (best === undefined || sc > bestScore) {
      best = c;
      bestScore = sc;
      continue;
    }
    if (sc < bestScore) continue;
    const a = spans[c] as SpanRecord;
    const b = spans[best] as SpanRecord;
    if (a.startTimeUnixNano > b.startTimeUnixNano) best = c;
  }
  return best;
}

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** Step 3: group spans of one message by tcp seq and chain them in path order. */
function chainByTcpSeq(spans: readonly SpanRecord[], tol: Tolerances, hot: HotKeys, links: Links): number[] {
  const chainOf = spans.map((_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (chainOf[r] !== r) r = chainOf[r] as number;
    chainOf[i] = r;
    return r;
  };
  const opsOf = new Map<number, Set<string>>();
  spans.forEach((s, i) => opsOf.set(i, new Set([s.observationPoint])));
  const buckets = new Map<string, number[]>();
  spans.forEach((s, i) => {
    // UDP spans carry the agent's datagram fingerprint in the seq fields (same meaning: one
    // message seen at several points), so they chain like TCP.
    if (s.source === 'app') return;
    if (s.reqTcpSeq && !isHot(hot, 'tcp_seq', s.reqTcpSeq)) push(buckets, `q${s.reqTcpSeq}`, i);
    if (s.respTcpSeq && !isHot(hot, 'tcp_seq', s.respTcpSeq)) push(buckets, `r${s.respTcpSeq}`, i);
  });
  const pairs: [number, number][] = [];
  for (const [key, members] of buckets) {
    const byEnd = key.startsWith('r');
    const t = (i: number): bigint => (byEnd ? (spans[i] as SpanRecord).endTimeUnixNano : (spans[i] as SpanRecord).startTimeUnixNano);
    const sorted = byEnd ? [...members].sort((a, b) => (t(a) < t(b) ? -1 : t(a) > t(b) ? 1 : a - b)) : members;
    const maxTol = tol.networkDelayNano + tol.hostClockOffsetNano;
    for (let x = 0; x < sorted.length; x++) {
      const i = sorted[x] as number;
      for (let y = x + 1; y < sorted.length; y++) {
        const j = sorted[y] as number;
        if (t(j) - t(i) > maxTol) break;
        const a = spans[i] as SpanRecord;
        const b = spans[j] as SpanRecord;
        if (absDiff(t(i), t(j)) > toleranceBetween(a, b, tol)) continue;
        if (a.observationPoint === b.observationPoint) continue;
        if (l7Conflict(a, b)) continue;
        pairs.push(i < j ? [i, j] : [j, i]);
      }
    }
  }
  pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  for (const [i, j] of pairs) {
    const ri = find(i);
    const rj = find(j);
    if (ri === rj) continue;
    const oi = opsOf.get(ri) as Set<string>;
    const oj = opsOf.get(rj) as Set<string>;
    // One message passes each observation point once; two c-p in one chain means two messages.
    if ([...oj].some((o) => oi.has(o))) continue;
    const root = Math.min(ri, rj);
    const other = root === ri ? rj : ri;
    chainOf[other] = root;
    for (const o of opsOf.get(other) as Set<string>) (opsOf.get(root) as Set<string>).add(o);
  }
  const groups = new Map<number, number[]>();
  spans.forEach((_, i) => push(groups, find(i), i));
  const chainId = spans.map((_, i) => find(i));
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const ordered = [...members].sort((a, b) => {
      const sa = spans[a] as SpanRecord;
      const sb = spans[b] as SpanRecord;
      return (
        opRank(sa.observationPoint) - opRank(sb.observationPoint) ||
        (sa.startTimeUnixNano < sb.startTimeUnixNano ? -1 : sa.startTimeUnixNano > sb.startTimeUnixNano ? 1 : 0) ||
        a - b
      );
    });
    for (let k = 1; k < ordered.length; k++) {
      link(links, ordered[k] as number, ordered[k - 1] as number, 'tcp_seq', CONFIDENCE.tcpSeq);
    }
  }
  return chainId;
}

export function assemble(input: SpanRecord[], options: AssembleOptions = {}): AssembledTrace {
  const tol: Tolerances = { ...DEFAULT_TOLERANCES, ...(options.tolerances ?? {}) };
  const hot: HotKeys = options.hotKeys ?? new Set();
  const warnings: string[] = [];

  // 1–2. canonical order, duplicates out, halves merged.
  const deduped = sortAndDedupe(input);
  const { spans } = mergeHalves(deduped.spans);
  const n = spans.length;
  const links: Links = { parent: new Array<number | null>(n).fill(null), reason: new Array<LinkReason | null>(n).fill(null), confidence: new Array<number | null>(n).fill(null) };
  const S = (i: number): SpanRecord => spans[i] as SpanRecord;

  // 3. one message across observation points.
  const chainId = chainByTcpSeq(spans, tol, hot, links);
  const chainHead = (i: number): boolean => links.parent[i] === null || links.reason[i] !== 'tcp_seq';
  const chainMembers = new Map<number, number[]>();
  for (let i = 0; i < n; i++) push(chainMembers, chainId[i] as number, i);
  const chainHasOp = (i: number, op: string): boolean => (chainMembers.get(chainId[i] as number) ?? []).some((m) => S(m).observationPoint === op);

  // Indexes.
  const bySpanId = new Map<string, number[]>();
  const serverEntriesByParent = new Map<string, number[]>();
  const sps: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = S(i);
    if (s.spanId) push(bySpanId, s.spanId, i);
    if (s.observationPoint === 's-p') sps.push(i);
    // A server entry: the s-p, or the last server-side NIC span of a chain that has no s-p.
    const isEntry = s.observationPoint === 's-p' || (s.source === 'net' && isServerSide(s.observationPoint) && !chainHasOp(i, 's-p'));
    if (isEntry && s.parentSpanId) push(serverEntriesByParent, s.parentSpanId, i);
  }
  // s-p indexes, so per-c-p rules do not scan every s-p (a 10k-span trace has thousands).
  const spByProc = new Map<string, number[]>();
  const spBySysReq = new Map<string, number[]>();
  const spBySysResp = new Map<string, number[]>();
  const spByParent = new Map<string, number[]>();
  for (const sp of sps) {
    const s = S(sp);
    push(spByProc, s.hostId, sp);
    if (s.syscallTraceIdReq) push(spBySysReq, `${s.hostId}|${s.syscallTraceIdReq}`, sp);
    if (s.syscallTraceIdResp) push(spBySysResp, `${s.hostId}|${s.syscallTraceIdResp}`, sp);
    if (s.parentSpanId) push(spByParent, s.parentSpanId, sp);
  }
  const sameProc = (a: SpanRecord, b: SpanRecord): boolean =>
    a.hostId !== '' && a.hostId === b.hostId && (a.processId === 0 || b.processId === 0 || a.processId === b.processId);
  const hostScore = (app: SpanRecord, sys: SpanRecord): number => {
    const h = appHost(app);
    const pid = appProcessId(app);
    return (h && h === sys.hostId ? 2 : 0) + (pid && pid === sys.processId ? 1 : 0);
  };

  // 4. s-app → the server entry that received the same traceparent span id.
  for (let i = 0; i < n; i++) {
    const a = S(i);
    if (a.source !== 'app' || a.observationPoint !== 's-app' || !a.parentSpanId) continue;
    const cands = (serverEntriesByParent.get(a.parentSpanId) ?? []).filter((e) => covers(S(e), a, tol.networkDelayNano + tol.hostClockOffsetNano));
    const best = pickBest(spans, cands, (e) => hostScore(a, S(e)));
    if (best !== undefined) link(links, i, best, 'span_id', CONFIDENCE.spanId);
  }

  // 5. parentSpanId → spanId for APP spans and client-side chain heads (c-p under its c-app).
  //    A c-p that forwards the same header its process received (a proxy) is left to rule 6.
  const proxyForwarded = (i: number): boolean => {
    const c = S(i);
    return (spByParent.get(c.parentSpanId) ?? []).some((sp) => sameProc(S(sp), c) && covers(S(sp), c, tol.networkDelayNano));
  };
  for (let i = 0; i < n; i++) {
    const s = S(i);
    if (!s.parentSpanId || links.parent[i] !== null) continue;
    const clientHead = s.source !== 'app' && isClientSide(s.observationPoint) && chainHead(i);
    if (s.source !== 'app' && !clientHead) continue;
    if (clientHead && s.observationPoint === 'c-p' && proxyForwarded(i)) continue;
    const cands = (bySpanId.get(s.parentSpanId) ?? []).filter((p) => p !== i);
    const best = pickBest(spans, cands, (p) => (S(p).source === 'app' ? 2 : 0) + (S(p).observationPoint === 'c-app' ? 1 : 0));
    if (best !== undefined) link(links, i, best, 'span_id', CONFIDENCE.spanId);
  }

  // 6. c-p → s-p of the same process by syscall trace id; consecutive c-p chained resp → req.
  const cps = [...Array(n).keys()].filter((i) => S(i).observationPoint === 'c-p' && S(i).source === 'sys');
  const syscallByResp = new Map<string, number[]>();
  const syscallByReq = new Map<string, number[]>();
  const remember = (i: number): void => {
    const c = S(i);
    if (links.reason[i] !== 'syscall') return;
    if (c.syscallTraceIdResp) push(syscallByResp, `${c.hostId}|${c.processId}|${c.syscallTraceIdResp}`, i);
    if (c.syscallTraceIdReq) push(syscallByReq, `${c.hostId}|${c.processId}|${c.syscallTraceIdReq}`, i);
  };
  for (const i of cps) {
    if (links.parent[i] !== null) continue;
    const c = S(i);
    const ids = [c.syscallTraceIdReq, c.syscallTraceIdResp].filter((x) => x !== 0 && !isHot(hot, 'syscall', x));
    if (ids.length === 0) continue;
    const direct = ids
      .flatMap((id) => spBySysReq.get(`${c.hostId}|${id}`) ?? [])
      .filter((sp) => sameProc(S(sp), c) && covers(S(sp), c, tol.networkDelayNano));
    const best = pickBest(spans, direct, () => 0);
    if (best !== undefined) {
      link(links, i, best, 'syscall', CONFIDENCE.syscallDirect);
      remember(i);
      continue;
    }
    // Consecutive calls link through opposite sides: this c-p's req id is the previous c-p's resp id.
    const viaPrevious = [
      ...(c.syscallTraceIdReq ? (syscallByResp.get(`${c.hostId}|${c.processId}|${c.syscallTraceIdReq}`) ?? []) : []),
      ...(c.syscallTraceIdResp ? (syscallByReq.get(`${c.hostId}|${c.processId}|${c.syscallTraceIdResp}`) ?? []) : []),
    ].filter((p) => p !== i && sameProc(S(p), c));
    const prev = pickBest(spans, viaPrevious, () => 0);
    const sp = prev === undefined ? undefined : links.parent[prev];
    if (sp !== undefined && sp !== null && covers(S(sp), c, tol.networkDelayNano)) link(links, i, sp, 'syscall', CONFIDENCE.syscallChained);
    // The last call's response id equals the s-p's response id.
    if (links.parent[i] === null && c.syscallTraceIdResp) {
      const tail = (spBySysResp.get(`${c.hostId}|${c.syscallTraceIdResp}`) ?? []).filter((x) => sameProc(S(x), c) && covers(S(x), c, tol.networkDelayNano));
      const t = pickBest(spans, tail, () => 0);
      if (t !== undefined) link(links, i, t, 'syscall', CONFIDENCE.syscallChained);
    }
    remember(i);
  }

  // 7. c-p → s-p of the same process by X-Request-ID on the same side (passed through or injected).
  for (const i of cps) {
    if (links.parent[i] !== null) continue;
    const c = S(i);
    if (!c.xRequestIdReq || isHot(hot, 'x_request_id', c.xRequestIdReq)) continue;
    const cands = (spByProc.get(c.hostId) ?? []).filter((sp) => {
      const s = S(sp);
      return sameProc(s, c) && covers(s, c, tol.networkDelayNano) && (s.xRequestIdReq === c.xRequestIdReq || s.xRequestIdResp === c.xRequestIdReq);
    });
    const best = pickBest(spans, cands, () => 0);
    if (best !== undefined) link(links, i, best, 'x_request_id', CONFIDENCE.xRequestIdSameSide);
  }

  // 8. a server-side chain head (s-p or NIC) → the client-side chain tail that sent the same
  //    X-Request-ID to it (a gateway hop with no tcp seq). The shortest such client wins.
  for (let i = 0; i < n; i++) {
    const s = S(i);
    if (s.source === 'app' || !isServerSide(s.observationPoint) || links.parent[i] !== null) continue;
    if (!s.xRequestIdReq || isHot(hot, 'x_request_id', s.xRequestIdReq)) continue;
    const cands: number[] = [];
    for (let j = 0; j < n; j++) {
      const c = S(j);
      if (j === i || c.source === 'app' || !isClientSide(c.observationPoint)) continue;
      if (chainId[j] === chainId[i] || c.xRequestIdReq !== s.xRequestIdReq) continue;
      if (!covers(c, s, toleranceBetween(c, s, tol))) continue;
      cands.push(j);
    }
    const best = pickBest(spans, cands, (j) => -Number(S(j).endTimeUnixNano - S(j).startTimeUnixNano));
    if (best !== undefined) link(links, i, best, 'x_request_id', CONFIDENCE.xRequestIdCrossSide);
  }

  // 9. server-side chain heads left with a header span id → the span that sent it (a c-app
  //    whose c-p was not captured).
  for (let i = 0; i < n; i++) {
    const s = S(i);
    if (s.source === 'app' || links.parent[i] !== null || !s.parentSpanId) continue;
    const cands = (bySpanId.get(s.parentSpanId) ?? []).filter((p) => p !== i);
    const best = pickBest(spans, cands, (p) => (S(p).source === 'app' ? 1 : 0));
    if (best !== undefined) link(links, i, best, 'span_id', CONFIDENCE.spanId);
  }

  // 9b. an s-app root with no header link (its agent started a new trace: SkyWalking without an
  //     incoming sw8, OTel without an incoming traceparent) → the s-p of the process whose
  //     request-side syscall trace id a c-p of this app trace took (DeepFlow 3b): the thread
  //     that received the request made the call the app span describes.
  for (let i = 0; i < n; i++) {
    const a = S(i);
    if (a.source !== 'app' || a.observationPoint !== 's-app' || links.parent[i] !== null || !a.traceId) continue;
    const found = new Set<number>();
    for (const j of cps) {
      const c = S(j);
      if (!c.parentSpanId || !c.syscallTraceIdReq) continue;
      const carried = (bySpanId.get(c.parentSpanId) ?? []).some((x) => S(x).source === 'app' && S(x).traceId === a.traceId);
      if (!carried) continue;
      for (const sp of spBySysReq.get(`${c.hostId}|${c.syscallTraceIdReq}`) ?? []) {
        if (sameProc(S(sp), c) && covers(S(sp), a, tol.networkDelayNano + tol.hostClockOffsetNano)) found.add(sp);
      }
    }
    if (found.size > 0) link(links, i, pickBest(spans, [...found], () => 0) as number, 'syscall', CONFIDENCE.syscallChained);
  }

  // 10. weak links by time: an s-app root into the s-p covering it (same host/process when
  //     known); a leftover c-p into the one s-p of its process covering it. Ambiguous → none.
  for (let i = 0; i < n; i++) {
    const a = S(i);
    if (a.source !== 'app' || a.observationPoint !== 's-app' || links.parent[i] !== null) continue;
    const cands = sps.filter((sp) => {
      const s = S(sp);
      if (a.traceId && s.traceId && a.traceId !== s.traceId) return false;
      return covers(s, a, tol.networkDelayNano) && hostScore(a, s) > 0;
    });
    const top = Math.max(-1, ...cands.map((c) => hostScore(a, S(c))));
    const best = cands.filter((c) => hostScore(a, S(c)) === top);
    if (best.length >= 1) {
      // Among the s-p covering it, the innermost (latest start) one received it.
      const b = pickBest(spans, best, () => 0) as number;
      link(links, i, b, 'process', CONFIDENCE.processTime);
    }
  }
  for (const i of cps) {
    if (links.parent[i] !== null || !chainHead(i)) continue;
    const c = S(i);
    const cands = (spByProc.get(c.hostId) ?? []).filter((sp) => sameProc(S(sp), c) && covers(S(sp), c, tol.networkDelayNano));
    const byTrace = c.traceId ? cands.filter((sp) => S(sp).traceId === c.traceId) : [];
    if (byTrace.length > 0) {
      link(links, i, pickBest(spans, byTrace, () => 0) as number, 'trace_id', CONFIDENCE.traceIdTime);
    } else if (cands.length === 1) {
      link(links, i, cands[0] as number, 'process', CONFIDENCE.processTime);
    } else if (cands.length > 1) {
      warnings.push(`c-p ${c.spanId || i} could belong to ${cands.length} concurrent requests of process ${c.processId} on ${c.hostId}; left unlinked`);
    }
  }

  // 11. pre-order, clock domains, offsets.
  const domainOf = clockDomains(spans, links);
  let order = preOrder(spans, links.parent);
  const clock = correctClocks(spans, domainOf, order, links.parent);
  warnings.push(...clock.warnings);

  // 12. prune trees that do not belong.
  const keep = pruneTrees(spans, links.parent, order, clock.offsets, tol, hot, options);
  if (keep.dropped > 0) warnings.push(`pruned ${keep.dropped} span(s) in ${keep.droppedTrees} tree(s) unrelated to the requested trace`);
  order = order.filter((i) => keep.kept[i]);

  // 13. render.
  const idCount = new Map<string, number>();
  for (const i of order) if (S(i).spanId) idCount.set(S(i).spanId, (idCount.get(S(i).spanId) ?? 0) + 1);
  const nodeId = (i: number): string => {
    const s = S(i);
    return s.spanId && idCount.get(s.spanId) === 1 ? s.spanId : `${s.spanId || s.hostId || 'span'}.${s.observationPoint}.${i}`;
  };
  const nodes: TraceNode[] = [];
  for (const i of order) {
    const s = S(i);
    const off = clock.offsets[i] ?? 0n;
    const p = links.parent[i] ?? null;
    if (p === null && s.parentSpanId) warnings.push(`span ${s.spanId || nodeId(i)}: parent ${s.parentSpanId} is not in the trace; shown at the root`);
    nodes.push({
      id: nodeId(i),
      span: off === 0n ? s : { ...s, startTimeUnixNano: s.startTimeUnixNano + off, endTimeUnixNano: s.endTimeUnixNano + off },
      parentId: p === null ? null : nodeId(p),
      linkReason: p === null ? null : (links.reason[i] ?? null),
      confidence: p === null ? null : (links.confidence[i] ?? null),
      clockOffsetNano: off,
    });
  }
  const kept = order.map(S);
  const traceId = options.traceId ?? kept.find((s) => s.traceId)?.traceId ?? '';
  const services = [...new Set(kept.map((s) => s.service).filter((x) => x))].sort();
  return { traceId, nodes, services, warnings };
}

/** Clock domains: a host; APP spans join the host of the SYS span they are linked to. */
function clockDomains(spans: readonly SpanRecord[], links: Links): string[] {
  const base = spans.map((s) => (s.hostId ? `host:${s.hostId}` : `app:${s.service}|${String(s.resource['service.instance.id'] ?? '')}`));
  const parentOf = new Map<string, string>();
  const find = (d: string): string => {
    let r = d;
    while (parentOf.has(r)) r = parentOf.get(r) as string;
    return r;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return;
    // Hosts win, then the lexically smaller name, so the result does not depend on order.
    const [keep, drop] = ra.startsWith('host:') && !rb.startsWith('host:') ? [ra, rb] : rb.startsWith('host:') && !ra.startsWith('host:') ? [rb, ra] : ra < rb ? [ra, rb] : [rb, ra];
    if (drop.startsWith('host:')) return; // two hosts are two clocks
    parentOf.set(drop, keep);
  };
  spans.forEach((s, i) => {
    const p = links.parent[i];
    if (p === null || p === undefined) return;
    const ps = spans[p] as SpanRecord;
    const appSys = (s.source === 'app') !== (ps.source === 'app');
    const sameProcessRule = links.reason[i] === 'span_id' || links.reason[i] === 'process' || links.reason[i] === 'trace_id';
    if (appSys && sameProcessRule) union(base[i] as string, base[p] as string);
  });
  return base.map(find);
}

function preOrder(spans: readonly SpanRecord[], parent: readonly (number | null)[]): number[] {
  const children: number[][] = spans.map(() => []);
  const roots: number[] = [];
  parent.forEach((p, i) => (p === null || p === undefined ? roots.push(i) : children[p]?.push(i)));
  // Indexes are in canonical start order already, so children lists are sorted by start.
  const out: number[] = [];
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const i = stack.pop() as number;
    out.push(i);
    const ch = children[i] ?? [];
    for (let k = ch.length - 1; k >= 0; k--) stack.push(ch[k] as number);
  }
  return out;
}

function pruneTrees(
  spans: readonly SpanRecord[],
  parent: readonly (number | null)[],
  order: readonly number[],
  offsets: readonly bigint[],
  tol: Tolerances,
  hot: HotKeys,
  options: AssembleOptions,
): { kept: boolean[]; dropped: number; droppedTrees: number } {
  const rootOf: number[] = new Array<number>(spans.length).fill(0);
  for (const i of order) {
    const p = parent[i];
    rootOf[i] = p === null || p === undefined ? i : (rootOf[p] as number);
  }
  const trees = new Map<number, number[]>();
  for (const i of order) push(trees, rootOf[i] as number, i);
  const kept = spans.map(() => true);
  if (trees.size <= 1) return { kept, dropped: 0, droppedTrees: 0 };

  // The seed tree: the one holding the seed span, else the most spans of the trace id, else the largest.
  const treeList = [...trees.entries()];
  const score = ([, m]: [number, number[]]): number => {
    let sc = m.length;
    if (options.traceId) sc += 1_000_000 * m.filter((i) => spans[i]?.traceId === options.traceId).length;
    if (options.seedSpanId && m.some((i) => spans[i]?.spanId === options.seedSpanId)) sc += 1e12;
    return sc;
  };
  let seed = treeList[0] as [number, number[]];
  for (const t of treeList) if (score(t) > score(seed)) seed = t;

  const keptTrees = new Set<number>([seed[0]]);
  const traceIds = new Set<string>();
  const keys = new Set<string>();
  let lo = 0n;
  let hi = 0n;
  const absorb = (members: number[]): void => {
    for (const i of members) {
      const s = spans[i] as SpanRecord;
      if (s.traceId) traceIds.add(s.traceId);
      for (const k of linkKeysOf(s)) if (k.type !== 'trace' && !hot.has(hotKeyId(k.type, k.value))) keys.add(hotKeyId(k.type, k.value));
    }
  };
  absorb(seed[1]);
  {
    const first = spans[seed[1][0] as number] as SpanRecord;
    lo = first.startTimeUnixNano;
    hi = first.endTimeUnixNano;
    for (const i of seed[1]) {
      const s = spans[i] as SpanRecord;
      const off = offsets[i] ?? 0n;
      if (s.startTimeUnixNano + off < lo) lo = s.startTimeUnixNano + off;
      if (s.endTimeUnixNano + off > hi) hi = s.endTimeUnixNano + off;
    }
  }
  const slack = tol.networkDelayNano + tol.hostClockOffsetNano;
  // Fixed point: a tree joins when it shares a trace id with what is kept, or overlaps the
  // seed's window and shares a (non-hot) link key with what is kept.
  let changed = true;
  while (changed) {
    changed = false;
    for (const [root, members] of treeList) {
      if (keptTrees.has(root)) continue;
      const sharesTrace = members.some((i) => {
        const t = spans[i]?.traceId;
        return t !== undefined && t !== '' && traceIds.has(t);
      });
      const inWindow = members.some((i) => {
        const s = spans[i] as SpanRecord;
        const off = offsets[i] ?? 0n;
        return s.startTimeUnixNano + off <= hi + slack && s.endTimeUnixNano + off >= lo - slack;
      });
      const sharesKey = inWindow && members.some((i) => linkKeysOf(spans[i] as SpanRecord).some((k) => k.type !== 'trace' && keys.has(hotKeyId(k.type, k.value))));
      if (sharesTrace || sharesKey) {
        keptTrees.add(root);
        absorb(members);
        changed = true;
      }
    }
  }
  let dropped = 0;
  let droppedTrees = 0;
  for (const [root, members] of treeList) {
    if (keptTrees.has(root)) continue;
    droppedTrees++;
    for (const i of members) {
      kept[i] = false;
      dropped++;
    }
  }
  return { kept, dropped, droppedTrees };
}

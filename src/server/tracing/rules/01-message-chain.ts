/**
 * @module Rule 01, message chain: the spans of one message seen at several observation points
 * (same tcp seq, or a UDP datagram's fingerprint, within tolerance and with no L7 conflict) are
 * chained in path order c-p → c → c-nd → c-gw → s-gw → s-nd → s → s-p. A chain holds each
 * observation point once (two c-p means two messages). Certain: the same bytes. Both ends of one
 * connection (same 5-tuple) match while their spans overlap, not only within the tolerance: a
 * loaded server may read a request hundreds of milliseconds after it was sent.
 */
import type { SpanRecord } from '../../../model/index.js';
import { chainSlot, l7Conflict, opRank, tuplesConsistent } from '../link-rules.js';
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

function flowKey(s: SpanRecord): string {
  return `${s.transport}|${s.clientIp}|${s.clientPort}|${s.serverIp}|${s.serverPort}`;
}

/** The two spans overlap in time (within `tol`): both ends saw the message while the other was open. */
function overlap(a: SpanRecord, b: SpanRecord, tol: bigint): boolean {
  const start = a.startTimeUnixNano > b.startTimeUnixNano ? a.startTimeUnixNano : b.startTimeUnixNano;
  const end = a.endTimeUnixNano < b.endTimeUnixNano ? a.endTimeUnixNano : b.endTimeUnixNano;
  return start <= end + tol;
}

/** Two members of the bucket are on one flow (a Set only for a big bucket). */
function repeatsFlow(members: readonly number[], flowOf: (i: number) => string): boolean {
  if (members.length > 16) return new Set(members.map(flowOf)).size < members.length;
  for (let x = 0; x < members.length; x++) {
    for (let y = x + 1; y < members.length; y++) if (flowOf(members[x] as number) === flowOf(members[y] as number)) return true;
  }
  return false;
}

export const messageChain: LinkRule = {
  name: '01-message-chain',
  apply(ctx: AssemblyContext): void {
    const { spans, tol } = ctx;
    const chainOf = spans.map((_, i) => i);
    const find = (i: number): number => {
      let r = i;
      while (chainOf[r] !== r) r = chainOf[r] as number;
      chainOf[i] = r;
      return r;
    };
    // Flow keys and chain slots are strings built from several fields; a span meets every other
    // member of its buckets, so each is built once (they were most of this rule's time).
    const slots = spans.map(chainSlot);
    const flowKeys: (string | undefined)[] = [];
    const flowOf = (i: number): string => (flowKeys[i] ??= flowKey(ctx.S(i)));
    const sameFlowAt = (i: number, j: number): boolean => {
      const a = ctx.S(i);
      return a.transport === 'tcp' && a.clientPort !== 0 && a.serverPort !== 0 && flowOf(i) === flowOf(j);
    };
    // The places a chain holds, as small numbers (a chain holds a few: a list beats a Set), made
    // for a chain root when it first joins another (most spans are in no pair).
    const slotNumber = new Map<string, number>();
    const slotIds = slots.map((x) => {
      let k = slotNumber.get(x);
      if (k === undefined) slotNumber.set(x, (k = slotNumber.size));
      return k;
    });
    const opsOf: (number[] | undefined)[] = [];
    const ops = (r: number): number[] => (opsOf[r] ??= [slotIds[r] as number]);
    // Buckets by seq, one Map per side (numbers as keys: no key text per span); the order buckets
    // are visited in does not matter, pairs are sorted below.
    const byReq = new Map<number, number[]>();
    const byResp = new Map<number, number[]>();
    const add = (m: Map<number, number[]>, k: number, i: number): void => {
      const l = m.get(k);
      if (l) l.push(i);
      else m.set(k, [i]);
    };
    spans.forEach((s, i) => {
      if (s.source === 'app') return;
      if (s.reqTcpSeq && !ctx.isHot('tcp_seq', s.reqTcpSeq)) add(byReq, s.reqTcpSeq, i);
      if (s.respTcpSeq && !ctx.isHot('tcp_seq', s.respTcpSeq)) add(byResp, s.respTcpSeq, i);
    });
    // A pair (i < j) as the number i * n + j: sorted as numbers they are in (i, j) order, with no
    // array per pair and no comparator (20k pairs for a 10k-span trace).
    const n = spans.length;
    const pairs: number[] = [];
    const net = tol.networkDelayNano;
    const maxTol = tol.networkDelayNano + tol.hostClockOffsetNano;
    // Each span's time plus the two tolerances, made once per span: a pair is then compared
    // without a BigInt made per comparison (differences and tolerance sums were most of this rule).
    const pairsIn = (members: number[], times: readonly bigint[], plusNet: readonly bigint[], plusMax: readonly bigint[]): void => {
      const t = (i: number): bigint => times[i] as bigint;
      // The bucket's own list, sorted in place (no other reader).
      const sorted = members.sort((a, b) => (t(a) < t(b) ? -1 : t(a) > t(b) ? 1 : a - b));
      // Only a bucket holding both ends of one flow needs pairs beyond the tolerance.
      const sameFlowBucket = repeatsFlow(sorted, flowOf);
      for (let x = 0; x < sorted.length; x++) {
        const i = sorted[x] as number;
        for (let y = x + 1; y < sorted.length; y++) {
          const j = sorted[y] as number;
          const a = ctx.S(i);
          const b = ctx.S(j);
          // Sorted: t(j) >= t(i), so |t(j) - t(i)| > tolerance is t(j) > t(i) + tolerance.
          const sameHost = a.hostId !== '' && a.hostId === b.hostId;
          const outside = t(j) > ((sameHost ? plusNet : plusMax)[i] as bigint);
          // Two ends of one connection: the same seq is the same bytes while the two spans
          // overlap in time, however slowly a busy server read them (a wrapped seq needs 4 GiB on
          // that connection, long after both spans ended). Other pairs (NAT, another flow) keep
          // the tolerance, as DeepFlow does.
          if (outside && !(sameFlowAt(i, j) && overlap(a, b, net))) {
            if (t(j) > (plusMax[i] as bigint) && !sameFlowBucket) break;
            continue;
          }
          if (slots[i] === slots[j]) continue;
          if (l7Conflict(a, b) || !tuplesConsistent(a, b)) continue;
          pairs.push(i < j ? i * n + j : j * n + i);
        }
      }
    };
    const starts = spans.map((s) => s.startTimeUnixNano);
    const ends = spans.map((s) => s.endTimeUnixNano);
    if (byReq.size > 0) {
      const [net1, max1] = [starts.map((t) => t + net), starts.map((t) => t + maxTol)];
      for (const members of byReq.values()) pairsIn(members, starts, net1, max1);
    }
    if (byResp.size > 0) {
      const [net1, max1] = [ends.map((t) => t + net), ends.map((t) => t + maxTol)];
      for (const members of byResp.values()) pairsIn(members, ends, net1, max1);
    }
    const sortedPairs = Float64Array.from(pairs).sort();
    for (const key of sortedPairs) {
      const i = Math.floor(key / n);
      const ri = find(i);
      const rj = find(key - i * n);
      if (ri === rj) continue;
      const oi = ops(ri);
      const oj = ops(rj);
      if (oj.some((o) => oi.includes(o))) continue;
      const root = Math.min(ri, rj);
      const other = root === ri ? rj : ri;
      chainOf[other] = root;
      ops(root).push(...ops(other));
    }
    ctx.chainId = spans.map((_, i) => find(i));
    const groups = new Map<number, number[]>();
    ctx.chainId.forEach((c, i) => {
      const l = groups.get(c);
      if (l) l.push(i);
      else groups.set(c, [i]);
    });
    for (const members of groups.values()) {
      if (members.length < 2) continue;
      const ordered = [...members].sort((a, b) => {
        const sa: SpanRecord = ctx.S(a);
        const sb: SpanRecord = ctx.S(b);
        return (
          opRank(sa.observationPoint) - opRank(sb.observationPoint) ||
          (sa.startTimeUnixNano < sb.startTimeUnixNano ? -1 : sa.startTimeUnixNano > sb.startTimeUnixNano ? 1 : 0) ||
          a - b
        );
      });
      for (let k = 1; k < ordered.length; k++) ctx.link(ordered[k] as number, ordered[k - 1] as number, 'tcp_seq', CONFIDENCE.tcpSeq);
    }
  },
};

/**
 * @module Which flows a node translates (DNAT as kube-proxy's iptables mode does, SNAT,
 * masquerade, a load balancer), learned from the handshakes the agent sees on the node's
 * interfaces, without reading conntrack.
 *
 * A translated connection's SYN crosses the node twice: once with the original tuple (on the
 * interfaces before the translation) and once with the translated one, and the kernel keeps the
 * client's initial sequence number across NAT. Two SYNs on one node with the same initial seq are
 * the same connection only if the tuples are NAT-consistent too:
 * - DNAT keeps the client end (address and port): same client end, same ISN, within a few seconds;
 * - SNAT keeps the server end: same server end, same ISN;
 * - a translation of both ends must also show the same server ISN in both SYN-ACKs.
 * A 32-bit ISN alone is never enough: unrelated flows share one by chance.
 */
import { netEndKey, netTupleKey } from '../../../model/index.js';
import type { DecodedPacket } from '../pcap/packet-decode.js';

export interface Translation {
  /** The tuple as the client sent it (seen first). */
  original: string;
  /** The tuple after the translation. */
  translated: string;
}

export interface NatTracker {
  /** Every TCP packet decoded on this node (only handshakes are used). */
  observe(p: DecodedPacket, unixNano: bigint): void;
  /** The translation this node applied to the flow with this tuple (client first), if any. */
  translationOf(tuple: string): Translation | null;
  /** Whether any translation is known (most nodes translate nothing: per-packet work is skipped). */
  any(): boolean;
}

export interface NatTrackerOptions {
  /** How far apart the two SYNs of one translated connection may be seen (default 3 s). */
  handshakeWindowNano?: bigint;
  /** Translations remembered (least recently learned go first; default 65,536). */
  maxTranslations?: number;
}

interface Syn {
  tuple: string;
  client: string;
  server: string;
  unixNano: bigint;
}

export function createNatTracker(o: NatTrackerOptions = {}): NatTracker {
  const windowNano = o.handshakeWindowNano ?? 3_000_000_000n;
  const maxTranslations = o.maxTranslations ?? 65_536;
  /** Recent SYNs by the client's initial seq. */
  const synsByIsn = new Map<number, Syn[]>();
  /** Expiry queue of synsByIsn, in arrival order. */
  const queue: { isn: number; unixNano: bigint }[] = [];
  const clientIsnOf = new Map<string, number>();
  const serverIsnOf = new Map<string, number>();
  const translations = new Map<string, Translation>();

  const trim = (map: Map<string, unknown>): void => {
    // Insertion order is age: the oldest sixteenth goes when a map is full.
    if (map.size > maxTranslations) for (const k of [...map.keys()].slice(0, Math.ceil(maxTranslations / 16))) map.delete(k);
  };

  const learn = (earlier: Syn, later: Syn): void => {
    const t: Translation = { original: earlier.tuple, translated: later.tuple };
    translations.delete(earlier.tuple);
    translations.delete(later.tuple);
    translations.set(earlier.tuple, t);
    translations.set(later.tuple, t);
    trim(translations);
  };

  const expire = (now: bigint): void => {
    while (queue.length > 0 && now - (queue[0] as { unixNano: bigint }).unixNano > windowNano) {
      const { isn } = queue.shift() as { isn: number };
      const list = synsByIsn.get(isn);
      if (!list) continue;
      const kept = list.filter((s) => now - s.unixNano <= windowNano);
      if (kept.length === 0) synsByIsn.delete(isn);
      else synsByIsn.set(isn, kept);
    }
  };

  return {
    observe(p, unixNano) {
      if (p.transport !== 'tcp' || !p.syn || p.rst) return;
      expire(unixNano);
      if (!p.ack) {
        const syn: Syn = { tuple: netTupleKey(p.srcIp, p.srcPort, p.dstIp, p.dstPort), client: netEndKey(p.srcIp, p.srcPort), server: netEndKey(p.dstIp, p.dstPort), unixNano };
        clientIsnOf.set(syn.tuple, p.seq);
        trim(clientIsnOf);
        const list = synsByIsn.get(p.seq) ?? [];
        if (list.some((s) => s.tuple === syn.tuple)) return; // the same SYN on the next interface
        for (const s of list) if (s.client === syn.client || s.server === syn.server) learn(s, syn);
        list.push(syn);
        synsByIsn.set(p.seq, list);
        queue.push({ isn: p.seq, unixNano });
        return;
      }
      // A SYN-ACK: the server's ISN for this tuple; a full translation shows it on both tuples.
      const tuple = netTupleKey(p.dstIp, p.dstPort, p.srcIp, p.srcPort);
      serverIsnOf.set(tuple, p.seq);
      trim(serverIsnOf);
      const cisn = clientIsnOf.get(tuple);
      if (cisn === undefined || translations.has(tuple)) return;
      const mine = synsByIsn.get(cisn)?.find((s) => s.tuple === tuple);
      if (!mine) return;
      for (const s of synsByIsn.get(cisn) ?? []) {
        if (s.tuple === tuple || serverIsnOf.get(s.tuple) !== p.seq) continue;
        if (s.unixNano <= mine.unixNano) learn(s, mine);
        else learn(mine, s);
      }
    },
    translationOf: (tuple) => translations.get(tuple) ?? null,
    any: () => translations.size > 0,
  };
}

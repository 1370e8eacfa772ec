/**
 * @module Live NET capture's session layer: frames from tc on the agent's interfaces → (tunnels
 * decapsulated) decoded packets → flows in sequence order (the same code as capture-file import)
 * → a session table of its own (source `net`, origin `packet`). Each span's observation point is
 * then inferred from the interface and the flow (links/observation-point.ts), and the hop is
 * marked with what was seen there: the node's translation of the flow, the tunnel, TCP
 * retransmissions, zero windows and resets.
 *
 * It has the session table's shape, so the agent loop drives it next to the socket sessions.
 */
import {
  INTERFACE_ROLE_ATTR,
  NAT_ORIGINAL_ATTR,
  NAT_TRANSLATED_ATTR,
  TCP_RESETS_ATTR,
  TCP_RETRANSMISSIONS_ATTR,
  TCP_ZERO_WINDOWS_ATTR,
  TUNNEL_TYPE_ATTR,
  netTupleKey,
  parseTuple,
  type SpanRecord,
} from '../../model/index.js';
import type { FrameEvent, SessionInputEvent } from './capture-event.js';
import { noteBehind, type CapturedLink } from './links/link-watcher.js';
import { inferObservationPoint } from './links/observation-point.js';
import { decodePacket, type DecodedPacket } from './pcap/packet-decode.js';
import { createPacketFlows } from './pcap/packet-flows.js';
import { decapsulate, type TunnelType } from './tunnel-decap.js';
import type { SessionTable } from '../sessions/session-table.js';

/** Frames from tc start at the Ethernet header (loopback too: it carries a zeroed one). */
const LINKTYPE_ETHERNET = 1;
/** Flows whose TCP marks are remembered (least recently created go first). */
const MAX_MARKED_FLOWS = 65_536;

export interface NetSessionsOptions {
  /** The packet session table (source `net`, origin `packet`), with no fixed observation point. */
  table: SessionTable;
  /** The captured interface a frame's ifindex names; undefined once it is no longer captured. */
  linkOf: (ifindex: number) => CapturedLink | undefined;
  /** Only flows with one of these ports (empty: all), as the socket filter does. */
  ports?: readonly number[];
  /** Flows quiet for this long are closed (default 120 s). */
  flowIdleNano?: bigint;
}

export interface NetSessionStats {
  frames: number;
  /** Frames that were not TCP/UDP over IP (or outside the port filter). */
  skippedFrames: number;
  /** Frames read from inside a VXLAN, Geneve or GRE tunnel. */
  decapsulatedFrames: number;
  /** Bare ACKs that reached user space (the tc program drops them; see tc.bpf.h). */
  bareAckFrames: number;
  gapBytes: number;
}

/** TCP trouble seen on one flow at one interface since its last span, and its tunnel. */
interface FlowMarks {
  retransmissions: number;
  zeroWindows: number;
  resets: number;
  tunnel: TunnelType | null;
}

const endsKey = (iface: string, aIp: string, aPort: number, bIp: string, bPort: number): string => {
  const a = `${aIp}|${aPort}`;
  const b = `${bIp}|${bPort}`;
  return `${iface}|${a < b ? `${a}|${b}` : `${b}|${a}`}`;
};

export function createNetSessions(o: NetSessionsOptions): SessionTable & { netStats(): NetSessionStats } {
  const flows = createPacketFlows();
  const ports = new Set(o.ports ?? []);
  const idle = o.flowIdleNano ?? 120_000_000_000n;
  /** Spans name their interface; the link it was (it may have gone since) tells what it is. */
  const linksByName = new Map<string, CapturedLink>();
  const marks = new Map<string, FlowMarks>();
  let frames = 0;
  let skipped = 0;
  let decapsulated = 0;
  let bareAcks = 0;
  let lastExpire = 0n;

  /** Per interface and translated flow, the tuple form the interface showed first. */
  const forms = new Map<string, string>();
  /**
   * One flow, one tuple at each interface. Where the kernel translates on the interface's own
   * path (DNAT at a bridge port with br_netfilter, as kube-proxy needs it), the bridge sees the
   * requests translated and the replies already translated back: both are put in the form the
   * interface showed first, so they stay one flow and one span.
   */
  const oneForm = (link: CapturedLink, p: DecodedPacket): DecodedPacket => {
    if (!link.ns.nat.any()) return p;
    const fwd = netTupleKey(p.srcIp, p.srcPort, p.dstIp, p.dstPort);
    const rev = netTupleKey(p.dstIp, p.dstPort, p.srcIp, p.srcPort);
    const t = link.ns.nat.translationOf(fwd) ?? link.ns.nat.translationOf(rev);
    if (!t) return p;
    const key = `${link.displayName}|${t.original}`;
    const mine = fwd === t.original || fwd === t.translated ? fwd : rev;
    const first = forms.get(key);
    if (first === undefined) {
      if (forms.size >= MAX_MARKED_FLOWS) for (const k of [...forms.keys()].slice(0, MAX_MARKED_FLOWS / 16)) forms.delete(k);
      forms.set(key, mine);
      return p;
    }
    if (first === mine) return p;
    // The other form: this packet's ends, renamed to the first form's (client first in both).
    const ends = parseTuple(first);
    if (!ends) return p;
    const fromClient = mine === fwd;
    return fromClient
      ? { ...p, srcIp: ends.clientIp, srcPort: ends.clientPort, dstIp: ends.serverIp, dstPort: ends.serverPort }
      : { ...p, srcIp: ends.serverIp, srcPort: ends.serverPort, dstIp: ends.clientIp, dstPort: ends.clientPort };
  };

  const toEvents = (f: FrameEvent): SessionInputEvent[] => {
    frames++;
    const link = o.linkOf(f.ifindex);
    if (!link) {
      skipped++;
      return [];
    }
    linksByName.set(link.displayName, link);
    // A tunnel device already shows the inner frame; an uplink carries it encapsulated.
    const tunnel = link.info.role === 'tunnel' ? null : decapsulate(f.data);
    if (tunnel) decapsulated++;
    let p = tunnel ? decodePacket(tunnel.linkType, tunnel.inner) : decodePacket(LINKTYPE_ETHERNET, f.data);
    if (!p) {
      skipped++;
      return [];
    }
    // Handshakes tell the node's translations, whatever the port filter keeps (DNAT changes ports).
    if (p.transport === 'tcp') {
      link.ns.nat.observe(p, f.unixNano);
      p = oneForm(link, p);
    }
    if (ports.size > 0 && !ports.has(p.srcPort) && !ports.has(p.dstPort)) {
      skipped++;
      return [];
    }
    // A bare ACK with an open window (about half of all frames) moves no bytes and marks nothing:
    // the flow has nothing to do with it. It only keeps an idle flow from expiring, which the
    // data frames around it do as well.
    // The tc program drops these before the ring (tc.bpf.h); what still arrives (an L3 device's
    // frames, a capture file) is counted, so a regression there shows.
    if (p.transport === 'tcp' && p.wireLength === 0 && !p.syn && !p.fin && !p.rst && p.window > 0) {
      bareAcks++;
      return [];
    }
    // What a container link receives, its workload sent.
    if (link.info.role === 'container' && f.direction === 'ingress') noteBehind(link.ns, link.info.name, p.srcIp);
    const key = endsKey(link.displayName, p.srcIp, p.srcPort, p.dstIp, p.dstPort);
    let m = marks.get(key);
    if (!m) {
      if (marks.size >= MAX_MARKED_FLOWS) for (const k of [...marks.keys()].slice(0, MAX_MARKED_FLOWS / 16)) marks.delete(k);
      m = { retransmissions: 0, zeroWindows: 0, resets: 0, tunnel: null };
      marks.set(key, m);
    }
    if (tunnel) m.tunnel = tunnel.tunnel;
    if (p.transport === 'tcp') {
      if (p.rst) m.resets++;
      else if (p.window === 0 && !p.syn) m.zeroWindows++;
    }
    const before = flows.retransmissions();
    const events = flows.push(p, f.unixNano, link.displayName, f.direction);
    if (flows.retransmissions() !== before) m.retransmissions++;
    return events;
  };

  /** Names each span's observation point from its interface and tuple, and marks the hop. */
  const place = (spans: SpanRecord[]): SpanRecord[] => {
    for (const span of spans) {
      const link = linksByName.get(span.interfaceName);
      if (!link) continue;
      const tuple = netTupleKey(span.clientIp, span.clientPort, span.serverIp, span.serverPort);
      const translation = link.ns.nat.translationOf(tuple);
      const op = inferObservationPoint(link.info, { clientIp: span.clientIp, serverIp: span.serverIp, tuple }, { view: link.ns.view, behind: link.ns.behind, translation });
      span.observationPoint = op;
      span.kind = op === 'local' || op === 'rest' ? 'internal' : op.startsWith('c') ? 'client' : 'server';
      span.attributes[INTERFACE_ROLE_ATTR] = link.info.role;
      if (translation) {
        span.attributes[NAT_ORIGINAL_ATTR] = translation.original;
        span.attributes[NAT_TRANSLATED_ATTR] = translation.translated;
      }
      const m = marks.get(endsKey(span.interfaceName, span.clientIp, span.clientPort, span.serverIp, span.serverPort));
      if (!m) continue;
      if (m.tunnel) span.attributes[TUNNEL_TYPE_ATTR] = m.tunnel;
      // Counts since this flow's previous span at this hop: HTTP/1, Redis and SQL send one
      // message at a time per connection, so they belong to this exchange.
      if (m.retransmissions > 0) span.attributes[TCP_RETRANSMISSIONS_ATTR] = m.retransmissions;
      if (m.zeroWindows > 0) span.attributes[TCP_ZERO_WINDOWS_ATTR] = m.zeroWindows;
      if (m.resets > 0) span.attributes[TCP_RESETS_ATTR] = m.resets;
      m.retransmissions = m.zeroWindows = m.resets = 0;
    }
    return spans;
  };

  return {
    push(events) {
      const inputs: SessionInputEvent[] = [];
      for (const e of events) if (e.kind === 'frame') inputs.push(...toEvents(e));
      return inputs.length === 0 ? [] : place(o.table.push(inputs));
    },
    sweep(now) {
      // Idle flows are rare and the scan covers every flow: once a second is plenty.
      let closed: SessionInputEvent[] = [];
      if (now - lastExpire >= 1_000_000_000n) {
        lastExpire = now;
        closed = flows.expire(now, idle);
      }
      const out: SpanRecord[] = closed.length > 0 ? o.table.push(closed) : [];
      return place([...out, ...o.table.sweep(now)]);
    },
    flush() {
      return place([...o.table.push(flows.end(0n)), ...o.table.flush()]);
    },
    stats: () => o.table.stats(),
    netStats: () => ({ frames, skippedFrames: skipped, decapsulatedFrames: decapsulated, bareAckFrames: bareAcks, gapBytes: flows.stats().gapBytes }),
  };
}

/**
 * Drives the socket sessions and the NET sessions as one table: frames go to `net`, everything
 * else to `sockets`, split once per batch (the socket table sorts what it gets; frames would
 * only cost it).
 */
export function combineSessionTables(sockets: SessionTable, net: SessionTable): SessionTable {
  return {
    push(events) {
      const frames: SessionInputEvent[] = [];
      const rest: SessionInputEvent[] = [];
      for (const e of events) (e.kind === 'frame' ? frames : rest).push(e);
      return [...sockets.push(rest), ...(frames.length > 0 ? net.push(frames) : [])];
    },
    sweep: (now) => [...sockets.sweep(now), ...net.sweep(now)],
    flush: () => [...sockets.flush(), ...net.flush()],
    stats: () => sockets.stats(),
  };
}

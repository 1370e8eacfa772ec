/**
 * @module Packets → the events the sessions layer takes (DataEvent, CloseEvent, SideEvent), so
 * NET spans come out of the same parsers and session rules as SYS spans.
 *
 * A flow is a 5-tuple seen at one capture point (interface). It is presented as a socket of
 * its client when the handshake shows who that is (the SYN's sender), with a `connect` event
 * that settles the side; a flow caught mid-stream (a pooled connection opened before the capture)
 * or a UDP flow is presented from its first sender's end, and the sessions layer tells client
 * from server by which end sends requests. The capture point's observation point is not the
 * flow's business: the session table stamps it (`fixedObservationPoint`).
 *
 * TCP payload is delivered in sequence order: retransmitted bytes are dropped, a segment that
 * arrives early waits (at most `maxPending` per direction) for the gap to fill; a gap that never
 * fills is skipped and counted in `gapBytes`. Each event's tcpSeq is the TCP sequence number of
 * its first byte, the same number eBPF reads from the socket, so NET and SYS spans of one
 * message share it.
 */
import type { DataEvent, SessionInputEvent } from '../capture-event.js';
import type { DecodedPacket } from './packet-decode.js';

export interface PacketFlowOptions {
  /** Early segments held per direction before a gap is given up (default 64). */
  maxPending?: number;
  /** Flows tracked at once; the least recently seen is closed beyond it (default 65,536). */
  maxFlows?: number;
}

export interface PacketFlowStats {
  packets: number;
  flows: number;
  /** Payload bytes never seen (capture loss): the messages around them may be cut. */
  gapBytes: number;
  retransmittedBytes: number;
}

interface Pending {
  seq: number;
  /** Captured bytes: a prefix of the segment's `wireLength` bytes when the capture cut it. */
  payload: Buffer;
  wireLength: number;
  unixNano: bigint;
  /** `payload` is this entry's own copy, not a view into the capture's buffer. */
  owned: boolean;
}

interface Direction {
  /** Next expected sequence number, once known. */
  next: number | null;
  pending: Pending[];
  fin: boolean;
}

interface Flow {
  socketId: bigint;
  transport: 'tcp' | 'udp';
  ipVersion: 4 | 6;
  interfaceName: string;
  /** The end presented as the local socket. */
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** Index 0: from the local end (egress); 1: towards it (ingress). */
  dirs: [Direction, Direction];
  lastDirection: 'egress' | 'ingress' | null;
  lastSeen: bigint;
}

export interface PacketFlows {
  /**
   * One decoded packet → the events it completes (in order). `direction` (live capture: whether
   * the interface sent or received the frame) makes a new flow's local end the sending side's.
   */
  push(p: DecodedPacket, unixNano: bigint, interfaceName: string, direction?: 'ingress' | 'egress'): SessionInputEvent[];
  /** Closes flows not seen for `idleNano` (a live capture never reaches an end). */
  expire(nowUnixNano: bigint, idleNano: bigint): SessionInputEvent[];
  /** The end of the capture: every gap is skipped and every flow closed. */
  end(unixNano: bigint): SessionInputEvent[];
  stats(): PacketFlowStats;
  /** Segments that carried bytes already delivered (a running count, cheap to read per packet). */
  retransmissions(): number;
}

/** Sequence-number difference a - b in the 32-bit circle. */
const seqDiff = (a: number, b: number): number => (a - b) | 0;

export function createPacketFlows(o: PacketFlowOptions = {}): PacketFlows {
  const maxPending = o.maxPending ?? 64;
  const maxFlows = o.maxFlows ?? 65_536;
  const flows = new Map<string, Flow>();
  const stats: PacketFlowStats = { packets: 0, flows: 0, gapBytes: 0, retransmittedBytes: 0 };
  let nextSocketId = 1n;
  let retransmittedSegments = 0;

  const emitData = (f: Flow, egress: boolean, payload: Buffer, wireLength: number, seq: number, unixNano: bigint, out: SessionInputEvent[]): void => {
    const direction = egress ? 'egress' : 'ingress';
    const ev: DataEvent = {
      kind: 'data',
      socketId: f.socketId,
      pid: 0,
      tid: 0,
      comm: '',
      direction,
      startUnixNano: unixNano,
      endUnixNano: unixNano,
      // More than the payload when the capture cut the segment: the message is then marked
      // truncated, as a syscall beyond eBPF's prefix is.
      totalBytes: Math.max(wireLength, payload.length),
      payload,
      transport: f.transport,
      ipVersion: f.ipVersion,
      localIp: f.localIp,
      localPort: f.localPort,
      remoteIp: f.remoteIp,
      remotePort: f.remotePort,
      tcpSeq: seq,
      syscallTraceId: 0,
      messageStart: f.transport === 'udp' || f.lastDirection !== direction,
      interfaceName: f.interfaceName,
    };
    f.lastDirection = direction;
    out.push(ev);
  };

  /** Delivers the early segments that now follow `d.next`; with `force`, skips a gap first. */
  const drain = (f: Flow, d: Direction, egress: boolean, force: boolean, out: SessionInputEvent[]): void => {
    for (;;) {
      if (d.pending.length === 0 || d.next === null) return;
      d.pending.sort((a, b) => seqDiff(a.seq, b.seq));
      const first = d.pending[0] as Pending;
      const gap = seqDiff(first.seq, d.next);
      if (gap > 0 && !force) return;
      d.pending.shift();
      if (gap > 0) stats.gapBytes += gap;
      let payload = first.payload;
      let wire = first.wireLength;
      let seq = first.seq;
      if (gap < 0) {
        if (-gap >= wire) continue;
        payload = payload.subarray(Math.min(-gap, payload.length));
        wire += gap;
        seq = d.next;
      }
      emitData(f, egress, payload, wire, seq, first.unixNano, out);
      d.next = (seq + wire) >>> 0;
    }
  };

  const close = (key: string, f: Flow, unixNano: bigint, out: SessionInputEvent[]): void => {
    flows.delete(key);
    out.push({ kind: 'close', socketId: f.socketId, pid: 0, unixNano });
  };

  return {
    push(p, unixNano, interfaceName, direction) {
      stats.packets++;
      const out: SessionInputEvent[] = [];
      const a = `${p.srcIp}|${p.srcPort}`;
      const b = `${p.dstIp}|${p.dstPort}`;
      const key = `${interfaceName}|${p.transport}|${a < b ? `${a}|${b}` : `${b}|${a}`}`;
      let f = flows.get(key);
      if (!f) {
        // A bare ACK, FIN or RST (the tail of a flow already closed, or of one caught at its end) opens nothing.
        if (p.transport === 'tcp' && !p.syn && p.wireLength === 0) return out;
        // The client's end when the handshake says which it is (a SYN-ACK's receiver sent the
        // SYN), else the first sender's.
        const srcIsLocal = direction !== undefined ? direction === 'egress' : !(p.syn && p.ack);
        f = {
          socketId: nextSocketId++,
          transport: p.transport,
          ipVersion: p.ipVersion,
          interfaceName,
          localIp: srcIsLocal ? p.srcIp : p.dstIp,
          localPort: srcIsLocal ? p.srcPort : p.dstPort,
          remoteIp: srcIsLocal ? p.dstIp : p.srcIp,
          remotePort: srcIsLocal ? p.dstPort : p.srcPort,
          dirs: [
            { next: null, pending: [], fin: false },
            { next: null, pending: [], fin: false },
          ],
          lastDirection: null,
          lastSeen: unixNano,
        };
        flows.set(key, f);
        stats.flows++;
        // The handshake tells the side: settle it before any data, as connect()/accept() do for eBPF.
        if (p.syn) out.push({ kind: srcIsLocal === !p.ack ? 'connect' : 'accept', socketId: f.socketId, unixNano });
        if (flows.size > maxFlows) {
          // The least recently seen sixteenth goes at once, so the scan is paid once per many flows.
          const oldest = [...flows.entries()].sort((x, y) => (x[1].lastSeen < y[1].lastSeen ? -1 : x[1].lastSeen > y[1].lastSeen ? 1 : 0));
          for (const [k, g] of oldest.slice(0, Math.max(1, Math.floor(maxFlows / 16)))) if (g !== f) close(k, g, unixNano, out);
        }
      }
      f.lastSeen = unixNano;
      const egress = p.srcIp === f.localIp && p.srcPort === f.localPort;
      if (p.transport === 'udp') {
        if (p.wireLength > 0) emitData(f, egress, p.payload, p.wireLength, 0, unixNano, out);
        return out;
      }
      const d = f.dirs[egress ? 0 : 1];
      if (p.syn) d.next = (p.seq + 1) >>> 0;
      if (p.wireLength > 0) {
        const seq = p.syn ? (p.seq + 1) >>> 0 : p.seq;
        if (d.next === null) d.next = seq;
        const ahead = seqDiff(seq, d.next);
        if (ahead + p.wireLength <= 0) {
          stats.retransmittedBytes += p.wireLength;
          retransmittedSegments++;
        } else {
          d.pending.push({ seq, payload: p.payload, wireLength: p.wireLength, unixNano, owned: false });
          if (ahead < 0) {
            stats.retransmittedBytes += -ahead;
            retransmittedSegments++;
          }
          drain(f, d, egress, d.pending.length > maxPending, out);
          // A segment left waiting for an earlier one may wait long (or for a loss that never
          // fills): it keeps a copy, not a view that pins the live capture's whole poll buffer.
          for (const w of d.pending) {
            if (w.owned) continue;
            w.payload = Buffer.from(w.payload);
            w.owned = true;
          }
        }
      }
      if (p.fin) d.fin = true;
      if (p.rst || (f.dirs[0].fin && f.dirs[1].fin)) {
        for (const [i, dir] of f.dirs.entries()) drain(f, dir, i === 0, true, out);
        close(key, f, unixNano, out);
      }
      return out;
    },
    expire(now, idleNano) {
      const out: SessionInputEvent[] = [];
      for (const [key, f] of [...flows]) {
        if (now - f.lastSeen <= idleNano) continue;
        for (const [i, dir] of f.dirs.entries()) drain(f, dir, i === 0, true, out);
        close(key, f, now, out);
      }
      return out;
    },
    end(unixNano) {
      const out: SessionInputEvent[] = [];
      for (const [key, f] of [...flows]) {
        for (const [i, dir] of f.dirs.entries()) drain(f, dir, i === 0, true, out);
        close(key, f, unixNano, out);
      }
      return out;
    },
    stats: () => ({ ...stats }),
    retransmissions: () => retransmittedSegments,
  };
}

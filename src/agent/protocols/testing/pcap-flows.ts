/**
 * @module Test fixture reader: a capture file → TCP/UDP flows → the L7 messages each side sent,
 * with capture times and TCP sequence numbers. Consecutive segments in one direction are one
 * message, the same rule the eBPF sessions apply to syscalls. Packets are read and decoded by
 * the product's capture-file code; this file only groups them, without the session table, so
 * the goldens test the parsers alone.
 */
import { readCapturedPackets } from '../../capture/pcap/capture-file.js';
import { decodePacket } from '../../capture/pcap/packet-decode.js';
import type { FrameMeta } from '../protocol.js';

export interface FlowMessage {
  fromClient: boolean;
  bytes: Buffer;
  meta: FrameMeta;
}

export interface Flow {
  transport: 'tcp' | 'udp';
  ipVersion: 4 | 6;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  messages: FlowMessage[];
  /** Bytes missing from the capture (a sequence gap): the fixture is incomplete. */
  gaps: number;
}

interface Segment {
  ts: bigint;
  fromClient: boolean;
  seq: number;
  payload: Buffer;
}

interface FlowBuild {
  flow: Flow;
  segments: Segment[];
  /** Next expected sequence number per direction (TCP), once known. */
  next: [number | null, number | null];
}

export function readPcapFlows(file: Buffer): Flow[] {
  const builds = new Map<string, FlowBuild>();
  const order: FlowBuild[] = [];
  for (const packet of readCapturedPackets(file)) {
    const ts = packet.unixNano;
    const p = decodePacket(packet.linkType, packet.data);
    if (!p) continue;
    const proto = p.transport === 'tcp' ? 6 : 17;
    const v = p.ipVersion;
    const src = p.srcIp;
    const dst = p.dstIp;
    const sport = p.srcPort;
    const dport = p.dstPort;
    let payload = p.payload;
    let seq = p.seq;
    const syn = p.syn;
    const a = `${src}|${sport}`;
    const b = `${dst}|${dport}`;
    const key = `${proto}|${a < b ? a + '|' + b : b + '|' + a}`;
    let fb = builds.get(key);
    if (!fb) {
      // The first packet of a flow comes from its client (a SYN, or a UDP query).
      fb = {
        flow: { transport: proto === 6 ? 'tcp' : 'udp', ipVersion: v, clientIp: src, clientPort: sport, serverIp: dst, serverPort: dport, messages: [], gaps: 0 },
        segments: [],
        next: [null, null],
      };
      builds.set(key, fb);
      order.push(fb);
    }
    const fromClient = src === fb.flow.clientIp && sport === fb.flow.clientPort;
    const dir = fromClient ? 0 : 1;
    if (proto === 6) {
      if (syn) {
        fb.next[dir] = (seq + 1) >>> 0;
        continue;
      }
      if (payload.length === 0) continue;
      const expected = fb.next[dir];
      if (expected !== null) {
        const delta = (seq - expected) | 0;
        if (delta < 0) {
          // Retransmission: keep only bytes we have not seen.
          if (-delta >= payload.length) continue;
          payload = payload.subarray(-delta);
          seq = expected;
        } else if (delta > 0) {
          fb.flow.gaps += delta;
        }
      }
      fb.next[dir] = (seq + payload.length) >>> 0;
    } else if (payload.length === 0) {
      continue;
    }
    fb.segments.push({ ts, fromClient, seq, payload });
  }
  for (const fb of order) {
    let cur: { fromClient: boolean; parts: Buffer[]; meta: FrameMeta } | null = null;
    const flush = (): void => {
      if (cur) fb.flow.messages.push({ fromClient: cur.fromClient, bytes: Buffer.concat(cur.parts), meta: cur.meta });
      cur = null;
    };
    for (const s of fb.segments) {
      if (!cur || cur.fromClient !== s.fromClient || fb.flow.transport === 'udp') {
        flush();
        cur = { fromClient: s.fromClient, parts: [], meta: { startUnixNano: s.ts, endUnixNano: s.ts, tcpSeq: s.seq, syscallTraceId: 0, tid: 0 } };
      }
      cur.parts.push(s.payload);
      cur.meta.endUnixNano = s.ts;
    }
    flush();
  }
  return order.map((fb) => fb.flow).filter((f) => f.messages.length > 0);
}

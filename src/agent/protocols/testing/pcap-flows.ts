/**
 * @module Test fixture reader: a classic pcap file (as tcpdump writes it) → TCP/UDP flows → the
 * L7 messages each side sent, with capture times and TCP sequence numbers. Consecutive segments
 * in one direction are one message, the same rule the eBPF sessions apply to syscalls.
 */
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

/** pcap magic numbers (pcap-savefile(5)): microsecond and nanosecond timestamps. */
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_RAW = 101;

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

function ipString(b: Buffer, off: number, v: 4 | 6): string {
  if (v === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(off + i).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function readPcapFlows(file: Buffer): Flow[] {
  if (file.length < 24) throw new Error('pcap: file too short');
  const magicLE = file.readUInt32LE(0);
  const le = magicLE === MAGIC_US || magicLE === MAGIC_NS;
  const magic = le ? magicLE : file.readUInt32BE(0);
  if (magic !== MAGIC_US && magic !== MAGIC_NS) throw new Error('pcap: bad magic (pcapng is not supported)');
  const nano = magic === MAGIC_NS;
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linktype = u32(20);
  const builds = new Map<string, FlowBuild>();
  const order: FlowBuild[] = [];
  let off = 24;
  while (off + 16 <= file.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const caplen = u32(off + 8);
    const pkt = file.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    const ts = BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nano ? 1n : 1000n);
    let l3 = 0;
    let etherType = 0;
    if (linktype === LINKTYPE_ETHERNET) {
      etherType = pkt.readUInt16BE(12);
      l3 = 14;
    } else if (linktype === LINKTYPE_LINUX_SLL) {
      etherType = pkt.readUInt16BE(14);
      l3 = 16;
    } else if (linktype === LINKTYPE_RAW) {
      etherType = (pkt[0]! >> 4) === 6 ? 0x86dd : 0x0800;
    } else {
      throw new Error(`pcap: unsupported link type ${linktype}`);
    }
    let v: 4 | 6;
    let proto: number;
    let l4: number;
    let src: string;
    let dst: string;
    let l3End: number;
    if (etherType === 0x0800) {
      v = 4;
      const ihl = (pkt[l3]! & 0x0f) * 4;
      proto = pkt[l3 + 9]!;
      src = ipString(pkt, l3 + 12, 4);
      dst = ipString(pkt, l3 + 16, 4);
      l4 = l3 + ihl;
      l3End = l3 + pkt.readUInt16BE(l3 + 2);
    } else if (etherType === 0x86dd) {
      v = 6;
      proto = pkt[l3 + 6]!;
      src = ipString(pkt, l3 + 8, 6);
      dst = ipString(pkt, l3 + 24, 6);
      l4 = l3 + 40;
      l3End = l4 + pkt.readUInt16BE(l3 + 4);
    } else {
      continue;
    }
    if (proto !== 6 && proto !== 17) continue;
    const sport = pkt.readUInt16BE(l4);
    const dport = pkt.readUInt16BE(l4 + 2);
    let payload: Buffer;
    let seq = 0;
    let syn = false;
    if (proto === 6) {
      seq = pkt.readUInt32BE(l4 + 4);
      syn = (pkt[l4 + 13]! & 0x02) !== 0;
      payload = pkt.subarray(l4 + ((pkt[l4 + 12]! >> 4) * 4), l3End);
    } else {
      payload = pkt.subarray(l4 + 8, l3End);
    }
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
